/** @module Names for inbox entries: the operator's name and what each entry is about (a report's category and version, a notification's computer), read in a few bounded queries per page. */
import type { AnyDb } from '#platform/db/index.js';
import { chunked } from '#platform/paging/index.js';

/** The named subject of an inbox entry. */
export type InboxAbout =
  | { type: 'report'; category: string; awareAt: string; version: number | null }
  | { type: 'notification'; kind: string; computerName: string | null };

/** What naming reads and fills of an inbox entry (model.ts's InboxItem; generic, so this file needs nothing of the service). */
interface Nameable {
  orgId: string; reportId: string | null; subjectType: string; subjectId: string;
  orgName: string | null; orgNameJa: string | null; about: InboxAbout | null;
}

/** The version a filing's subject id names (`<reportId>#<version>`), or null. */
function versionOf(subjectId: string): number | null {
  const m = /#(\d+)$/.exec(subjectId);
  return m === null ? null : Number(m[1]);
}

/** The entries with their operator's names and their subject named; entries whose subject is gone keep `about: null`. */
export async function nameInbox<T extends Nameable>(q: AnyDb, items: T[]): Promise<T[]> {
  if (items.length === 0) return items;
  const orgIds = [...new Set(items.map((i) => i.orgId))];
  const reportIds = [...new Set(items.flatMap((i) => (i.reportId === null ? [] : [i.reportId])))];
  const notificationIds = [...new Set(items.filter((i) => i.subjectType === 'notification').map((i) => i.subjectId))];
  const orgs = new Map<string, { name: string; name_ja: string | null }>();
  const reports = new Map<string, { category: string; aware_at: string }>();
  const notifications = new Map<string, { kind: string; fields: string }>();
  for (const c of chunked(orgIds, 500)) {
    for (const r of await q.selectFrom('orgs').select(['id', 'name', 'name_ja']).where('id', 'in', c).execute() as { id: string; name: string; name_ja: string | null }[]) orgs.set(r.id, r);
  }
  for (const c of chunked(reportIds, 500)) {
    for (const r of await q.selectFrom('incident_reports').select(['id', 'category', 'aware_at']).where('id', 'in', c).execute() as { id: string; category: string; aware_at: string }[]) reports.set(r.id, r);
  }
  for (const c of chunked(notificationIds, 500)) {
    for (const r of await q.selectFrom('computer_notifications').select(['id', 'kind', 'fields']).where('id', 'in', c).execute() as { id: string; kind: string; fields: string }[]) notifications.set(r.id, r);
  }
  return items.map((i) => {
    const org = orgs.get(i.orgId);
    let about: InboxAbout | null = null;
    const report = i.reportId === null ? undefined : reports.get(i.reportId);
    const notification = notifications.get(i.subjectId);
    if (report !== undefined) about = { type: 'report', category: report.category, awareAt: report.aware_at, version: i.subjectType === 'incident_version' ? versionOf(i.subjectId) : null };
    else if (notification !== undefined) {
      const name = (JSON.parse(notification.fields) as Record<string, unknown>)['computerName'];
      about = { type: 'notification', kind: notification.kind, computerName: typeof name === 'string' ? name : null };
    }
    return { ...i, orgName: org?.name ?? null, orgNameJa: org?.name_ja ?? null, about };
  });
}
