/** @module Oversight's tables: requests, votes, conflict declarations, approvals, emergency actions and published Diet reports (JSON as text, ISO UTC times). */
import type { NamedMigration } from '#platform/db/index.js';

/** Schema changes owned by oversight. */
export const oversightMigrations: NamedMigration[] = [
  {
    name: '0400_oversight',
    async up(db) {
      await db.schema
        .createTable('oversight_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('raised_by', 'text', (c) => c.notNull())
        .addColumn('raised_at', 'text', (c) => c.notNull())
        .addColumn('submitted_by', 'text')
        .addColumn('submitted_at', 'text')
        .addColumn('decision', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('approval_id', 'text')
        .addColumn('emergency_action_id', 'text')
        .addColumn('review_deadline', 'text')
        .execute();
      await db.schema.createIndex('oversight_requests_status').on('oversight_requests').columns(['status', 'kind']).execute();
      await db.schema
        .createTable('oversight_votes')
        .addColumn('request_id', 'text', (c) => c.notNull().references('oversight_requests.id'))
        .addColumn('member_id', 'text', (c) => c.notNull())
        .addColumn('vote', 'text', (c) => c.notNull())
        .addColumn('reasons', 'text', (c) => c.notNull())
        .addColumn('cast_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('oversight_votes_pk', ['request_id', 'member_id'])
        .execute();
      await db.schema
        .createTable('oversight_conflicts')
        .addColumn('request_id', 'text', (c) => c.notNull().references('oversight_requests.id'))
        .addColumn('member_id', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('declared_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('oversight_conflicts_pk', ['request_id', 'member_id'])
        .execute();
      await db.schema
        .createTable('oversight_approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.notNull().references('oversight_requests.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('conditions', 'text', (c) => c.notNull())
        .addColumn('valid_from', 'text', (c) => c.notNull())
        .addColumn('valid_until', 'text', (c) => c.notNull())
        .addColumn('basis_id', 'text')
        .addColumn('measure_id', 'text')
        .addColumn('emergency', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text')
        .addColumn('revoke_reason', 'text')
        .addColumn('expired_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('oversight_approvals_measure').on('oversight_approvals').column('measure_id').execute();
      await db.schema.createIndex('oversight_approvals_until').on('oversight_approvals').column('valid_until').execute();
      await db.schema
        .createTable('oversight_emergency_actions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('acted_by', 'text', (c) => c.notNull())
        .addColumn('acted_at', 'text', (c) => c.notNull())
        .addColumn('agency', 'text', (c) => c.notNull())
        .addColumn('measure_id', 'text')
        .addColumn('basis_id', 'text')
        .addColumn('review_request_id', 'text', (c) => c.notNull())
        .addColumn('review_deadline', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('halt_reason', 'text')
        .addColumn('halted_at', 'text')
        .addColumn('purged_flows', 'integer')
        .execute();
      await db.schema.createIndex('oversight_emergency_status').on('oversight_emergency_actions').columns(['status', 'review_deadline']).execute();
      await db.schema.createIndex('oversight_emergency_measure').on('oversight_emergency_actions').column('measure_id').execute();
    },
  },
  {
    name: '0401_oversight_published_diet_reports',
    async up(db) {
      await db.schema
        .createTable('oversight_published_reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('window_from', 'text', (c) => c.notNull())
        .addColumn('window_to', 'text', (c) => c.notNull())
        .addColumn('report', 'text', (c) => c.notNull())
        .addColumn('published_by', 'text', (c) => c.notNull())
        .addColumn('published_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('oversight_published_reports_at').on('oversight_published_reports').column('published_at').execute();
    },
  },
];
