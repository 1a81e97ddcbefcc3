/** @module Reporting's model: what it needs, filings, deadlines and inbox entries as the API returns them, and their rows. */
import { createHash } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import type { Database } from '#platform/db/index.js';
import { AppError, isAppError, type FieldIssue, type Message } from '#platform/errors/index.js';
import type { PolicyEngine, PolicyResource } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import type { RegistryService } from '#modules/registry/index.js';
import type { InboxAbout } from './inbox-names.js';
import type { AuditBatchWriter } from './group-commit.js';
import type { DeadlineKey } from './clocks.js';
import type { FormRegistry, FormValues } from './forms.js';
import type { Indicator } from './indicators.js';
import type { ReceiptSigner } from './receipts.js';
import type { ReportItems, ReportingSettings } from './schema.js';

/** What reporting needs. */
export interface ReportingDeps {
  db: Database;
  policy: PolicyEngine;
  /** The audit log; with `recordBatch` a group commit appends all its filings' entries at once. */
  audit: AuditRecorder & { recordBatch?: AuditBatchWriter };
  clock: Clock;
  registry: RegistryService;
  forms: FormRegistry;
  /** The receipt signer, loaded on first use (its key file lives under dataDir). */
  signer: () => ReceiptSigner;
  settings: ReportingSettings;
}

/** Who receives a filing or notice. */
export type Recipient = 'ministry' | 'nco' | 'operator';

/** Delivery of a filing to one recipient, and its acknowledgement. */
export interface Delivery {
  inboxId: string;
  recipient: Recipient;
  deliveredAt: string;
  acknowledgedAt: string | null;
}

/** A computer notification as the API returns it. */
export interface ComputerNotification {
  id: string;
  orgId: string;
  sector: string;
  computerId: string;
  kind: 'introduction' | 'change';
  form: string;
  formVersion: number;
  fields: FormValues;
  diff: { key: string; before: unknown; after: unknown }[] | null;
  previousId: string | null;
  filedAt: string;
  sha256: string;
  deliveries: Delivery[];
  receiptId: string | null;
}

/** A deadline with its state now. */
export interface DeadlineView {
  key: DeadlineKey;
  label: { ja: string; en: string };
  dueAt: string;
  remindAt: string;
  metAt: string | null;
  state: 'met' | 'late' | 'open' | 'overdue';
  remindedAt: string | null;
  escalatedAt: string | null;
  /** When the sector's ministry escalated this overdue deadline by hand (to the NCO, with a demand to the operator). */
  ministryEscalatedAt: string | null;
}

/** An incident report's summary (lists). */
export interface IncidentSummary {
  id: string;
  orgId: string;
  sector: string;
  category: string;
  status: 'initial' | 'written';
  version: number;
  awareAt: string;
  regimes: string[];
  createdAt: string;
  updatedAt: string;
  overdue: DeadlineKey[];
  shareWithCouncil: boolean;
  operatorNamed: boolean;
}

/** An incident report in full. */
export interface IncidentReport extends IncidentSummary {
  ransomPaidAt: string | null;
  items: ReportItems;
  versions: { version: number; stage: string; changed: string[]; filedAt: string; sha256: string; receiptId: string | null; items: ReportItems }[];
  deadlines: DeadlineView[];
  attachments: { id: string; filename: string; mediaType: string; size: number; sha256: string; addedAt: string }[];
  deliveries: (Delivery & { version: number })[];
  indicators: Indicator[];
}

/** An inbox entry: a reference to a filing or a notice, never its content. */
export interface InboxItem {
  id: string;
  recipient: Recipient;
  kind: 'filing' | 'reminder' | 'overdue' | 'escalation';
  subjectType: string;
  subjectId: string;
  reportId: string | null;
  orgId: string;
  sector: string;
  note: string | null;
  /** The note as a code with parameters (`inbox.overdue`, `inbox.escalatedByMinistry`, `inbox.dueSoon`), for clients to word. */
  message: Message | null;
  createdAt: string;
  acknowledgedAt: string | null;
  /** The operator by name (English and Japanese), so the inbox reads at a glance. */
  orgName: string | null;
  orgNameJa: string | null;
  /** What the entry is about: a report (its category, awareness time, version) or a computer notification (its kind, the computer's name). */
  about: InboxAbout | null;
}

export type { InboxAbout } from './inbox-names.js';

/** An incident report's row. */
export interface ReportRow {
  id: string; org_id: string; sector: string; aware_at: string; regimes: string; status: string; version: number; category: string;
  ransom_paid_at: string | null; share_with_council: number; operator_named: number; created_at: string; updated_at: string;
}
export interface NotificationRow { id: string; org_id: string; sector: string; computer_id: string; kind: string; form: string; form_version: number; fields: string; diff: string | null; previous_id: string | null; filed_by: string; filed_at: string; sha256: string }
export interface InboxRow { id: string; recipient: string; kind: string; subject_type: string; subject_id: string; report_id: string | null; org_id: string; sector: string; note: string | null; created_at: string; acknowledged_at: string | null; acknowledged_by: string | null }

/** The inbox subject type of a ministry's escalation of an overdue deadline (its subject id is the deadline's id). */
export const MINISTRY_ESCALATION = 'ministry_escalation';

export const filing = (orgId: string, sector: string, id: string): PolicyResource => ({ type: 'Filing', id, attrs: { orgId, sector } });
export const inboxResource = (r: InboxRow): PolicyResource => ({ type: 'InboxItem', id: r.id, attrs: { recipient: r.recipient, orgId: r.org_id, sector: r.sector } });
export const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** The unique key of `indicators`: a value listed twice for one source is stored once. */
export const INDICATOR_KEY = ['kind', 'value', 'source_type', 'source_id'] as const;

/** Re-throws a validation error with every field path under `prefix`. */
export function withPrefix<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isAppError(e) && e.code === 'VALIDATION_FAILED' && e.details !== undefined) {
      const details: FieldIssue[] = e.details.map((d) => ({ path: d.path === '(root)' ? prefix : `${prefix}.${d.path}`, message: d.message }));
      throw new AppError('VALIDATION_FAILED', `Invalid ${prefix}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, { details });
    }
    throw e;
  }
}
