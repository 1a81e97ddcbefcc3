/** @module Reporting: computer notifications and incident reports from designated operators, composed of its parts (see each file). */
import { createCouncilSharing } from './council.js';
import { createIncidents } from './incidents.js';
import { createInboxes } from './inboxes.js';
import type { ReportingDeps } from './model.js';
import { createNotifications } from './notifications.js';
import { createReportAccess } from './report-access.js';

export type {
  ComputerNotification, DeadlineView, Delivery, IncidentReport, IncidentSummary, InboxAbout, InboxItem, Recipient, ReportingDeps,
} from './model.js';
export { sanitize } from './council.js';

/** Creates the reporting service. @see 重要電子計算機に対する不正な行為による被害の防止に関する法律 Art. 4 (notifications), Art. 5 (incident reports) */
export function createReportingService(deps: ReportingDeps) {
  const access = createReportAccess(deps);
  return {
    ...createNotifications(deps, access),
    ...createIncidents(deps, access),
    ...createCouncilSharing(deps, access),
    ...createInboxes(deps, access),
  };
}

/** The reporting service's interface. */
export type ReportingService = ReturnType<typeof createReportingService>;
