/** @module Reporting's tables: notifications, incident reports and their versions, deadlines, attachments, inboxes, receipts, and the indicator list. */
import { columnTypes, type NamedMigration } from '#platform/db/index.js';

/** Schema changes owned by reporting. */
export const reportingMigrations: NamedMigration[] = [
  {
    name: '0310_reporting',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('computer_notifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('sector', 'text', (c) => c.notNull())
        .addColumn('computer_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('form', 'text', (c) => c.notNull())
        .addColumn('form_version', 'integer', (c) => c.notNull())
        .addColumn('fields', 'text', (c) => c.notNull())
        .addColumn('diff', 'text')
        .addColumn('previous_id', 'text')
        .addColumn('filed_by', 'text', (c) => c.notNull())
        .addColumn('filed_at', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('computer_notifications_org').on('computer_notifications').columns(['org_id', 'filed_at']).execute();
      await db.schema.createIndex('computer_notifications_computer').on('computer_notifications').columns(['computer_id', 'filed_at']).execute();
      await db.schema
        .createTable('incident_reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('sector', 'text', (c) => c.notNull())
        .addColumn('aware_at', 'text', (c) => c.notNull())
        .addColumn('regimes', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('ransom_paid_at', 'text')
        .addColumn('share_with_council', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('operator_named', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('incident_reports_org').on('incident_reports').columns(['org_id', 'created_at']).execute();
      await db.schema.createIndex('incident_reports_sector').on('incident_reports').columns(['sector', 'created_at']).execute();
      await db.schema
        .createTable('incident_report_versions')
        .addColumn('report_id', 'text', (c) => c.notNull().references('incident_reports.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('items', 'text', (c) => c.notNull())
        .addColumn('changed', 'text', (c) => c.notNull())
        .addColumn('filed_by', 'text', (c) => c.notNull())
        .addColumn('filed_at', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_report_versions_pk', ['report_id', 'version'])
        .execute();
      await db.schema
        .createTable('report_deadlines')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('report_id', 'text', (c) => c.notNull().references('incident_reports.id'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'text', (c) => c.notNull())
        .addColumn('due_at', 'text', (c) => c.notNull())
        .addColumn('remind_at', 'text', (c) => c.notNull())
        .addColumn('met_at', 'text')
        .addColumn('reminded_at', 'text')
        .addColumn('escalated_at', 'text')
        .execute();
      await db.schema.createIndex('report_deadlines_open').on('report_deadlines').columns(['met_at', 'remind_at']).execute();
      await db.schema.createIndex('report_deadlines_report').on('report_deadlines').columns(['report_id', 'key']).unique().execute();
      await db.schema
        .createTable('report_attachments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('report_id', 'text', (c) => c.notNull().references('incident_reports.id'))
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('content', t.blob, (c) => c.notNull())
        .addColumn('added_by', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('report_attachments_report').on('report_attachments').column('report_id').execute();
      await db.schema
        .createTable('report_inbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('report_id', 'text')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('sector', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('acknowledged_at', 'text')
        .addColumn('acknowledged_by', 'text')
        .execute();
      await db.schema.createIndex('report_inbox_recipient').on('report_inbox').columns(['recipient', 'sector', 'created_at']).execute();
      await db.schema.createIndex('report_inbox_subject').on('report_inbox').columns(['subject_id']).execute();
      await db.schema
        .createTable('report_receipts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('sector', 'text', (c) => c.notNull())
        .addColumn('receipt', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('report_receipts_subject').on('report_receipts').column('subject_id').execute();
    },
  },
  {
    // Keyset paging (platform/paging): each list sorts by (time, id) within its scope, and the export's
    // batched reads look up by report id; without these every page or chunk sorts or scans the table.
    name: '0910_reporting_paging',
    async up(db) {
      const indexes: [string, string, string[]][] = [
        ['incident_reports_page', 'incident_reports', ['created_at', 'id']],
        ['incident_reports_org_page', 'incident_reports', ['org_id', 'created_at', 'id']],
        ['incident_reports_sector_page', 'incident_reports', ['sector', 'created_at', 'id']],
        ['computer_notifications_page', 'computer_notifications', ['filed_at', 'id']],
        ['computer_notifications_org_page', 'computer_notifications', ['org_id', 'filed_at', 'id']],
        ['computer_notifications_sector_page', 'computer_notifications', ['sector', 'filed_at', 'id']],
        ['report_inbox_recipient_page', 'report_inbox', ['recipient', 'created_at', 'id']],
        ['report_inbox_sector_page', 'report_inbox', ['recipient', 'sector', 'created_at', 'id']],
        ['report_inbox_org_page', 'report_inbox', ['recipient', 'org_id', 'created_at', 'id']],
        ['report_inbox_report', 'report_inbox', ['report_id']],
      ];
      for (const [name, table, columns] of indexes) await db.schema.createIndex(name).ifNotExists().on(table).columns(columns).execute();
    },
  },
  {
    // A report's ministry escalations (subject type, NCO copy) by report id: with report_id alone the planner
    // preferred the recipient index and scanned every NCO row per export chunk (10 × slower at 100,000 reports).
    name: '0912_reporting_inbox_by_report',
    async up(db) {
      await db.schema.createIndex('report_inbox_report_subject').ifNotExists().on('report_inbox').columns(['report_id', 'subject_type', 'recipient']).execute();
    },
  },
];
