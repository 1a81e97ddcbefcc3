/** @module The registry's tables: designated operators, their contacts, address ranges and exporters. */
import type { NamedMigration } from '#platform/db/index.js';

/** Schema changes owned by the registry. */
export const registryMigrations: NamedMigration[] = [
  {
    name: '0300_registry',
    async up(db) {
      await db.schema
        .createTable('registry_operators')
        .addColumn('org_id', 'text', (c) => c.primaryKey().references('orgs.id'))
        .addColumn('sector', 'text', (c) => c.notNull())
        .addColumn('designated_on', 'text', (c) => c.notNull())
        .addColumn('contacts', 'text', (c) => c.notNull())
        .addColumn('regimes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('registry_operators_sector').on('registry_operators').column('sector').execute();
      await db.schema
        .createTable('registry_ranges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('registry_operators.org_id'))
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('registry_ranges_org').on('registry_ranges').columns(['org_id', 'cidr']).unique().execute();
      await db.schema
        .createTable('registry_exporters')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('registry_operators.org_id'))
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('observation_domain', 'integer', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('registry_exporters_key').on('registry_exporters').columns(['address', 'observation_domain']).unique().execute();
    },
  },
  {
    // An IPFIX observation domain is an unsigned 32-bit number (RFC 7011 §3.1): PostgreSQL's `integer`
    // stops at 2^31 - 1, SQLite's is already 64-bit. Named to sort after every migration applied before it.
    name: '0800_registry_observation_domain_bigint',
    async up(db, dialect) {
      if (dialect === 'postgres') await db.schema.alterTable('registry_exporters').alterColumn('observation_domain', (c) => c.setDataType('bigint')).execute();
    },
  },
];
