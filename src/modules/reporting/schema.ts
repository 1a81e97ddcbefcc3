/** @module Reporting's data shapes (zod is the single source of their types): notifications, incident reports, follow-ups, attachments, settings. */
import { z } from 'zod';
import { text } from '#platform/text/index.js';

/** Incident categories of the order, with Japanese and English labels. @see 重要電子計算機に対する不正な行為による被害の防止に関する法律 Art. 5 (incident reports) */
export const INCIDENT_CATEGORIES = {
  unauthorized_access: { ja: '不正アクセス', en: 'Unauthorized access' },
  malware: { ja: 'マルウェア感染', en: 'Malware infection' },
  ransomware: { ja: 'ランサムウェア', en: 'Ransomware' },
  denial_of_service: { ja: 'サービス妨害攻撃', en: 'Denial of service' },
  data_breach: { ja: '情報漏えい', en: 'Data breach' },
  tampering: { ja: '改ざん', en: 'Tampering' },
  service_disruption: { ja: '役務の提供の停止・低下', en: 'Service disruption' },
  other: { ja: 'その他', en: 'Other' },
} as const;
/** One incident category. */
export type IncidentCategory = keyof typeof INCIDENT_CATEGORIES;
const CATEGORY_KEYS = Object.keys(INCIDENT_CATEGORIES) as [IncidentCategory, ...IncidentCategory[]];

/** Labels of the report items of the order (報告事項), Japanese and English. */
export const REPORT_ITEM_LABELS = {
  category: { ja: '事象の種類', en: 'Category' },
  operatorOverview: { ja: '特別社会基盤事業者の概要', en: 'Operator overview' },
  summary: { ja: '事象の概要', en: 'Summary' },
  affectedComputer: { ja: '被害を受けた電子計算機', en: 'Affected computer' },
  technicalDetails: { ja: '技術的な詳細', en: 'Technical details' },
  response: { ja: '講じた措置', en: 'Response taken' },
  other: { ja: 'その他参考となる事項', en: 'Other' },
} as const;

const ISO = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time with zone, e.g. 2026-04-01T09:30:00+09:00');

/** An indicator the operator names explicitly. */
export const IndicatorInputSchema = z.object({
  kind: z.enum(['ipv4', 'ipv6', 'domain', 'md5', 'sha1', 'sha256']),
  value: text(255, { singleLine: true }),
}).strict();

/** The affected computer: a notified one by its computer id, or a description. */
const AffectedComputerSchema = z.object({
  computerId: z.string().uuid().optional(),
  description: text(2000),
}).strict();

const ITEM_FIELDS = {
  category: z.enum(CATEGORY_KEYS),
  operatorOverview: text(4000),
  summary: text(10_000),
  affectedComputer: AffectedComputerSchema,
  technicalDetails: text(50_000, { min: 0, allowBlank: true }),
  response: text(20_000, { min: 0, allowBlank: true }),
  other: text(20_000, { min: 0, allowBlank: true }),
};

/** The report items of an incident report. @see 同法 Art. 5; 同法施行規則 (report items) */
export const ReportItemsSchema = z.object({
  ...ITEM_FIELDS,
  technicalDetails: ITEM_FIELDS.technicalDetails.default(''),
  response: ITEM_FIELDS.response.default(''),
  other: ITEM_FIELDS.other.default(''),
}).strict();
/** The report items. */
export type ReportItems = z.infer<typeof ReportItemsSchema>;

/** The initial report (速報): awareness time and the items known so far. */
export const IncidentInputSchema = z.object({
  awareAt: ISO,
  items: ReportItemsSchema,
  indicators: z.array(IndicatorInputSchema).max(1000).default([]),
  ransomPaidAt: ISO.optional(),
}).strict();
/** Input of an initial report. */
export type IncidentInput = z.input<typeof IncidentInputSchema>;

/** Deadline keys a follow-up may say it meets (beyond what its stage meets by itself). */
export const MEETABLE = ['nis2.notification', 'nis2.final'] as const;

/** A follow-up: a new version of the report; `written` is the written report (確報) due within 30 days. */
export const FollowUpInputSchema = z.object({
  stage: z.enum(['update', 'written']),
  items: z.object(ITEM_FIELDS).partial().strict().default({}),
  indicators: z.array(IndicatorInputSchema).max(1000).default([]),
  ransomPaidAt: ISO.optional(),
  meets: z.array(z.enum(MEETABLE)).max(MEETABLE.length).default([]),
}).strict().refine((v) => v.stage !== 'update' || Object.keys(v.items).length > 0 || v.indicators.length > 0 || v.ransomPaidAt !== undefined || v.meets.length > 0, {
  // An update that changes nothing would only add an identical version.
  message: 'an update must change something: give at least one item, an indicator, ransomPaidAt or a deadline it meets', path: ['items'],
});
/** Input of a follow-up. */
export type FollowUpInput = z.input<typeof FollowUpInputSchema>;

/** A computer notification (introduction when `computerId` is absent, change when present). @see 同法 Art. 4 (notification of specified important computers) */
export const NotificationInputSchema = z.object({
  form: z.string().min(1).max(64),
  formVersion: z.number().int().min(1),
  computerId: z.string().uuid().optional(),
  fields: z.record(z.string(), z.unknown()),
}).strict();
/** Input of a notification. */
export type NotificationInput = z.input<typeof NotificationInputSchema>;

/** An attachment, its bytes in base64. */
export const AttachmentInputSchema = z.object({
  filename: text(255, { singleLine: true }).regex(/^[^/\\]+$/, 'a file name, without a path'),
  mediaType: text(100, { singleLine: true, min: 3 }),
  contentBase64: z.string().min(1).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'),
}).strict();

/** Every deadline key a report's clocks may have (see clocks.ts). */
const DEADLINE_KEYS = ['jp.initial', 'jp.written', 'nis2.early_warning', 'nis2.notification', 'nis2.final', 'circia.report', 'circia.ransom_payment'] as const;

/** A ministry's escalation of an overdue deadline: which clock, and what it asks of the NCO and the operator. */
export const EscalationInputSchema = z.object({
  deadline: z.enum(DEADLINE_KEYS),
  note: z.string().trim().min(1, 'say what you ask of the NCO and the operator').max(2000).pipe(text(2000)),
}).strict();

/** The operator's consent (or not) to be named when the report is shared with the council. */
export const NamingConsentSchema = z.object({ operatorNamed: z.boolean() }).strict();
/** The NCO's decision to share a report with the council (sanitized). */
export const ShareDecisionSchema = z.object({ shareWithCouncil: z.boolean() }).strict();

/** Reporting settings from the configuration. */
export interface ReportingSettings {
  /** "Promptly": hours after awareness by which the initial report is due. */
  initialReportHours: number;
  /** Days after awareness by which the written report is due. */
  writtenReportDays: number;
  /** Hours before a deadline at which the operator is reminded. */
  reminderLeadHours: number;
  attachmentMaxBytes: number;
  attachmentMediaTypes: readonly string[];
}
