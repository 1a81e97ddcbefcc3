/** @module The reporting module's public face: notifications, incident reports, clocks, receipts, inboxes, indicators, export. */
export { createReportingService, sanitize, type ReportingService, type ReportingDeps, type IncidentReport, type IncidentSummary, type ComputerNotification, type InboxItem, type DeadlineView } from './service.js';
export { reportingMigrations } from './migrations.js';
export { reportingRoutes } from './routes.js';
export { createReportingScheduler, type ReportingScheduler } from './scheduler.js';
export { loadForms, formRegistry, FormDefinitionSchema, type FormDefinition, type FormRegistry } from './forms.js';
export { defaultReceiptKeyPath, loadOrCreateReceiptSigner, ephemeralReceiptSigner, verifyReceipt, filingHash, type Receipt, type ReceiptSigner } from './receipts.js';
export { renderReports, renderExport, EXPORT_FORMATS, type ExportFormat } from './export.js';
export { deadlinesFor, DEADLINE_LABELS, type DeadlineKey } from './clocks.js';
export { extractIndicators } from './indicators.js';
export { DEFAULT_ATTACHMENT_TYPES } from './attachments.js';
export { INCIDENT_CATEGORIES, REPORT_ITEM_LABELS, type ReportingSettings, type IncidentInput, type FollowUpInput, type NotificationInput } from './schema.js';
