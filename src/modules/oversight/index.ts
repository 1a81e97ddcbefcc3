/** @module The oversight module's public face: requests, votes, approvals, the emergency path, inspection, the Diet report, and the hooks selection and response plug into. */
export {
  createOversightService, type OversightService, type OversightDeps, type OversightSettings, type ApprovalCheck, type MeasureAuthorization, type SweepResult,
} from './service.js';
export { createOversightScheduler, type OversightScheduler } from './scheduler.js';
export { oversightMigrations } from './migrations.js';
export { oversightRoutes } from './routes.js';
export {
  buildDietReport, computeDietFigures, renderDietReportHtml, isReadAction, DIET_REPORT_ACTIONS, DIET_REPORT_METHOD, type DietReport, type DietFigures,
} from './diet-report.js';
export type {
  BasisIssuer, ApprovedAcquisition, DataPurger, MeasureHalter, DataInventory, BasisHolding, DiscardCounter, CheckpointSource, OversightPorts,
} from './ports.js';
export {
  REQUEST_KINDS, REQUEST_STATUSES, APPROVAL_KINDS, MEASURE_KINDS, AGENCIES,
  type RequestKind, type RequestStatus, type ApprovalKind, type Approval, type OversightRequest, type EmergencyAction, type DraftInput,
  type VoteInput, type DecideInput, type EmergencyInput, type AcquisitionScope, type MeasureScope, type ReidentificationScope, type Selectors, type Evidence,
} from './schema.js';
export { periodProblem, addMonths, prefixWithin, isCidr } from './scope.js';
export { countVotes, type VotingRule } from './tally.js';
