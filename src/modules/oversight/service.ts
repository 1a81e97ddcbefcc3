/** @module Oversight: the service composed of its parts (requests and votes, approvals, the emergency path, enforcement, inspection). */
import { createApprovals } from './approvals.js';
import { createEmergencyPath } from './emergency.js';
import { createEnforcement } from './enforcement.js';
import { createInspection } from './inspection.js';
import type { OversightDeps } from './records.js';
import { createRequests } from './requests.js';

export type { ApprovalCheck, MeasureAuthorization, OversightDeps, OversightSettings, SweepResult } from './records.js';
export type { PublishedDietReport, PublishedDietReportSummary } from './inspection.js';

/** Creates the oversight service. @see DPA Art. 17, 22, 32, 38 ff. */
export function createOversightService(deps: OversightDeps) {
  const enforcement = createEnforcement(deps);
  return {
    connect: enforcement.connect,
    connected: enforcement.connected,
    ...createRequests(deps, enforcement),
    ...createApprovals(deps, enforcement),
    ...createEmergencyPath(deps, enforcement),
    sweep: enforcement.sweep,
    ...createInspection(deps, enforcement),
  };
}

/** The oversight service's interface. */
export type OversightService = ReturnType<typeof createOversightService>;
