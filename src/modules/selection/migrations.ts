/** @module Selection's tables: legal bases (the selection counters live in memory; flows live in the Parquet archive, not here). */
import type { NamedMigration } from '#platform/db/index.js';

/** Schema changes owned by selection. */
export const selectionMigrations: NamedMigration[] = [
  {
    name: '0500_selection',
    async up(db) {
      await db.schema
        .createTable('legal_bases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('selectors', 'text', (c) => c.notNull())
        .addColumn('valid_from', 'text', (c) => c.notNull())
        .addColumn('valid_until', 'text', (c) => c.notNull())
        .addColumn('allowed_fields', 'text', (c) => c.notNull())
        .addColumn('retention_days', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('operator_org_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by_actor', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_reason', 'text')
        .addColumn('revoked_by', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('legal_bases_valid_until').on('legal_bases').column('valid_until').execute();
    },
  },
];
