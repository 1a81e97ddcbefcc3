/** @module Response's tables: measures, their transitions, PM orders, MOFA consultations, operation steps and effect samples (JSON as text, ISO UTC times). */
import type { NamedMigration } from '#platform/db/index.js';

/** Schema changes owned by response. */
export const responseMigrations: NamedMigration[] = [
  {
    name: '0700_response',
    async up(db) {
      await db.schema.createTable('response_measures')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('agency', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('expected_effect', 'text', (c) => c.notNull())
        .addColumn('sdf_grounds', 'text')
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('abroad', 'integer', (c) => c.notNull())
        .addColumn('request_id', 'text')
        .addColumn('approval_id', 'text')
        .addColumn('authorization', 'text')
        .addColumn('emergency_action_id', 'text')
        .addColumn('proposed_by', 'text', (c) => c.notNull())
        .addColumn('proposed_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('executing_since', 'text')
        .addColumn('completed_at', 'text')
        .addColumn('halt_reason', 'text')
        .execute();
      await db.schema.createIndex('response_measures_state').on('response_measures').columns(['state', 'kind']).execute();
      await db.schema.createTable('response_events')
        .addColumn('measure_id', 'text', (c) => c.notNull().references('response_measures.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('transition', 'text', (c) => c.notNull())
        .addColumn('from_state', 'text')
        .addColumn('to_state', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('response_events_pk', ['measure_id', 'seq'])
        .execute();
      await db.schema.createTable('response_orders')
        .addColumn('measure_id', 'text', (c) => c.primaryKey().references('response_measures.id'))
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('issued_by', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('response_consultations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('measure_id', 'text', (c) => c.notNull().references('response_measures.id'))
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('recorded_by', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('response_steps')
        .addColumn('measure_id', 'text', (c) => c.notNull().references('response_measures.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('officer', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addPrimaryKeyConstraint('response_steps_pk', ['measure_id', 'seq'])
        .execute();
      await db.schema.createTable('response_effect_samples')
        .addColumn('measure_id', 'text', (c) => c.notNull().references('response_measures.id'))
        .addColumn('finding_id', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('score', 'real', (c) => c.notNull())
        .addColumn('host_count', 'integer', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('response_effect_samples_measure').on('response_effect_samples').columns(['measure_id', 'at']).execute();
    },
  },
];
