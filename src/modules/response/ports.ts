/** @module What response needs from oversight, selection and analysis, as small interfaces wired in the composition root (src/server/core.ts). */
import type { RequestContext } from '#platform/context/index.js';
import type { Agency, MeasureKind } from './schema.js';

/** A measure's authorization in force: the commission's prior approval, or the emergency path while its review is open. */
export interface MeasureAuthorizationInForce {
  /** The approval id (prior) or the emergency action id (emergency). */
  approvalId: string;
  kind: 'prior' | 'emergency';
  conditions: string[];
  /** The agency the commission authorized; a measure routed elsewhere is not authorized by it. */
  agency: string;
}

/** Asks oversight whether a measure is authorized at a time (answers undefined when it is not). @see Police Duties Execution Act Art. 6-2 */
export interface MeasureAuthorizer {
  authorizationFor(ctx: RequestContext, measureId: string, at: number): Promise<MeasureAuthorizationInForce | undefined>;
}

/** What oversight is told about a measure when it is submitted or acted on first. */
export interface MeasureSummary {
  measureId: string;
  kind: MeasureKind;
  agency: Agency;
  title: string;
  summary: string;
  findings: string[];
  reports: string[];
}

/** Creates (drafts and submits) the commission request of a measure. @see DPA; Police Duties Execution Act Art. 6-2 */
export interface MeasureSubmitter {
  submit(ctx: RequestContext, measure: MeasureSummary): Promise<{ requestId: string }>;
}

/** Records an action taken first on the emergency path; oversight opens its retroactive review. */
export interface EmergencyRecorder {
  actFirst(ctx: RequestContext, measure: MeasureSummary, justification: string): Promise<{ emergencyActionId: string; reviewDeadline: string }>;
}

/** Where an address is (selection's locator). */
export interface TargetLocator {
  describe(address: string): { location: 'domestic' | 'foreign' | 'unknown' | 'ignore'; country: string | undefined };
}

/** A finding as the effect chart needs it. */
export interface FindingSnapshot {
  id: string;
  subject: { kind: string; value: string };
  score: number;
  hostCount: number;
  level: string;
  /** ISO UTC. */
  lastSeen: string;
}

/** One point of a finding's time series (when analysis keeps one). */
export interface FindingPoint { at: string; score: number; hostCount: number; flows?: number }

/**
 * Analysis's findings as response reads them: the current state of each (sampled by response over
 * time) and, when analysis keeps one, a finding's own series.
 * @see docs/response.md#effect
 */
export interface FindingSource {
  snapshot(ctx: RequestContext, ids: readonly string[]): Promise<FindingSnapshot[]>;
  series?(ctx: RequestContext, id: string, from: string, to: string): Promise<FindingPoint[]>;
}

/** The hooks response calls out through; any may be absent until its module is wired (then the step that needs it fails closed). */
export interface ResponsePorts {
  authorizer?: MeasureAuthorizer;
  submitter?: MeasureSubmitter;
  emergency?: EmergencyRecorder;
  locator?: TargetLocator;
  findings?: FindingSource;
}
