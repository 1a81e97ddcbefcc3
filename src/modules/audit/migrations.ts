/** @module Audit tables: entries (each with the Merkle subtrees its append completed), the head (size and last leaf), checkpoints. */
import { auditTextMigration } from './texts.js';
import { sql, columnTypes, type NamedMigration } from '#platform/db/index.js';

/** Schema changes owned by audit. */
export const auditMigrations: NamedMigration[] = [
  {
    name: '0010_audit',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      await db.schema
        .createTable('audit_entries')
        .addColumn('idx', t.bigint, (c) => c.primaryKey())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        // The user behind the actor (the token's owner for API tokens): what "own actions" filter on.
        .addColumn('actor_user', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('object_type', 'text')
        .addColumn('object_id', 'text')
        .addColumn('legal_basis', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('entry', 'text', (c) => c.notNull())
        .addColumn('leaf_hash', t.blob, (c) => c.notNull())
        // Hashes (32 bytes each, level 1 upwards) of the complete subtrees this entry's append closed:
        // RFC 9162 nodes live beside their last leaf, so an append writes one row (log.ts nodeRow()).
        .addColumn('nodes', t.blob, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_entries_actor').on('audit_entries').columns(['actor_user', 'idx']).execute();
      await db.schema.createIndex('audit_entries_action').on('audit_entries').columns(['action', 'idx']).execute();
      await db.schema.createIndex('audit_entries_time').on('audit_entries').column('time').execute();
      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('size', t.bigint, (c) => c.notNull())
        .addColumn('last_leaf', t.blob)
        .execute();
      await sql`insert into audit_head (id, size, last_leaf) values (1, 0, null)`.execute(db);
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('size', t.bigint, (c) => c.primaryKey())
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  auditTextMigration,
];
