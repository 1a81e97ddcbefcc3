/** @module The response module's public face: measures, their state machine, routing and conditions, artifacts, effect, and the hooks oversight and analysis plug into. */
export { createResponseService, locateTarget, type ResponseService, type ResponseDeps } from './service.js';
export { responseMigrations } from './migrations.js';
export { responseRoutes } from './routes.js';
export { TRANSITIONS, checkTransition, transitionOf, IN_FORCE_STATES, type Transition, type TransitionName, type MeasureFacts, type Refusal } from './transitions.js';
export {
  MEASURE_KINDS, MEASURE_STATES, AGENCIES, GRAVE_TARGET_KINDS, ATTACKER_ASSESSMENTS, MeasureInputSchema, sdfGroundsMet,
  type Measure, type MeasureInput, type MeasureKind, type MeasureState, type Agency, type SdfGrounds, type TargetLocation, type Justification,
} from './schema.js';
export type { MeasureAuthorizer, MeasureAuthorizationInForce, MeasureSubmitter, MeasureSummary, EmergencyRecorder, TargetLocator, FindingSource, FindingSnapshot, FindingPoint, ResponsePorts } from './ports.js';
export { buildArtifact, buildRpzZone, buildCidrList, buildNftables, buildBlockJson, buildStixBundle, ifNoneMatchHits, ARTIFACT_FORMATS, DEFAULT_RPZ, type Artifact, type ArtifactFormat, type RpzOptions } from './artifacts.js';
export { renderTakedownNotice, NOTICE_LANGUAGES, type NoticeLanguage } from './notices.js';
export { computeEffect, type MeasureEffect } from './effect.js';
