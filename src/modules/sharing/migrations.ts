/** @module Sharing's tables: council, sharing groups, the intel store (versions, collection entries with a per-collection sequence), drafts, dissemination ledger, TAXII status, feeds, indicators, sightings. */
import { columnTypes, type NamedMigration } from '#platform/db/index.js';

/** Schema changes owned by sharing. */
export const sharingMigrations: NamedMigration[] = [
  {
    name: '0500_sharing',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      await db.schema
        .createTable('sharing_council_members')
        .addColumn('org_id', 'text', (c) => c.primaryKey())
        .addColumn('clients', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('joined_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sharing_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('next_seq', bigint, (c) => c.notNull().defaultTo(1))
        .addColumn('last_added', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sharing_group_members')
        .addColumn('group_id', 'text', (c) => c.notNull().references('sharing_groups.id'))
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('can_read', 'integer', (c) => c.notNull())
        .addColumn('can_write', 'integer', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sharing_group_members_pk', ['group_id', 'org_id'])
        .execute();
      // Every version of every object: (stix_id, modified) names a version.
      await db.schema
        .createTable('intel_objects')
        .addColumn('stix_id', 'text', (c) => c.notNull())
        .addColumn('modified', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('spec_version', 'text', (c) => c.notNull())
        .addColumn('tlp', 'text')
        .addColumn('created_by', 'text')
        .addColumn('origin', 'text', (c) => c.notNull()) // 'mamori' (ours, fingerprinted) | 'member' | 'feed'
        .addColumn('origin_org_id', 'text')
        .addColumn('source_type', 'text', (c) => c.notNull()) // finding | case | report | member | feed
        .addColumn('source_id', 'text')
        .addColumn('red_recipients', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('content_hash', 'text')
        .addColumn('json', 'text', (c) => c.notNull())
        .addColumn('stored_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('intel_objects_pk', ['stix_id', 'modified'])
        .execute();
      await db.schema.createIndex('intel_objects_content').on('intel_objects').column('content_hash').execute();
      // An object version's membership of a collection; seq is monotonic per collection, so paging by it is stable.
      await db.schema
        .createTable('intel_collection_entries')
        .addColumn('collection_id', 'text', (c) => c.notNull())
        .addColumn('seq', bigint, (c) => c.notNull())
        .addColumn('stix_id', 'text', (c) => c.notNull())
        .addColumn('modified', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('spec_version', 'text', (c) => c.notNull())
        .addColumn('date_added', 'text', (c) => c.notNull())
        .addColumn('is_first', 'integer', (c) => c.notNull())
        .addColumn('is_last', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('intel_collection_entries_pk', ['collection_id', 'seq'])
        .execute();
      await db.schema.createIndex('intel_entries_object').on('intel_collection_entries').columns(['collection_id', 'stix_id', 'modified']).execute();
      await db.schema.createIndex('intel_entries_last').on('intel_collection_entries').columns(['collection_id', 'is_last', 'seq']).execute();
      await db.schema
        .createTable('sharing_drafts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('tlp', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull()) // draft | released
        .addColumn('source_type', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('objects', 'text', (c) => c.notNull())
        .addColumn('removed', 'text', (c) => c.notNull())
        .addColumn('red_recipients', 'text', (c) => c.notNull())
        .addColumn('created_by_user', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('released_by_user', 'text')
        .addColumn('released_at', 'text')
        .addColumn('released_to', 'text')
        .execute();
      // The dissemination ledger: who received which object versions, when and through which path.
      await db.schema
        .createTable('sharing_disseminations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('recipient_user_id', 'text', (c) => c.notNull())
        .addColumn('recipient_org_id', 'text')
        .addColumn('channel', 'text', (c) => c.notNull()) // taxii | api | export
        .addColumn('collection_id', 'text')
        .addColumn('seq_min', bigint)
        .addColumn('seq_max', bigint)
        .addColumn('object_count', 'integer', (c) => c.notNull())
        .addColumn('objects', 'text', (c) => c.notNull()) // canonical "stix_id|modified" lines
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sharing_disseminations_recipient').on('sharing_disseminations').column('recipient_user_id').execute();
      await db.schema
        .createTable('taxii_status')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('api_root', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sharing_feeds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('auth', 'text', (c) => c.notNull()) // JSON {kind:'none'|'basic'|'bearer', ...}; redacted when listed
        .addColumn('interval_seconds', 'integer', (c) => c.notNull())
        .addColumn('default_confidence', 'integer', (c) => c.notNull())
        .addColumn('cursor', 'text')
        .addColumn('last_pulled_at', 'text')
        .addColumn('last_error', 'text')
        .addColumn('pulled_objects', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sharing_sightings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('indicator_id', 'text', (c) => c.notNull())
        .addColumn('reporter_user_id', 'text', (c) => c.notNull())
        .addColumn('reporter_org_id', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('confidence_before', 'integer', (c) => c.notNull())
        .addColumn('confidence_after', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    // A change counter per collection, bumped in the same transaction as any add, new version, revocation
    // or delete of its entries: cached pages are keyed by it, so no cached page outlives a change.
    name: '0501_sharing_collection_version',
    async up(db, dialect) {
      const { bigint } = columnTypes(dialect);
      await db.schema.alterTable('sharing_groups').addColumn('version', bigint, (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  {
    // Status resources expire (`sharing.taxiiStatusRetentionHours`): each add request deletes the ones
    // past their time, found by this index.
    name: '0502_taxii_status_created',
    async up(db) {
      await db.schema.createIndex('taxii_status_created').on('taxii_status').column('created_at').execute();
    },
  },
];
