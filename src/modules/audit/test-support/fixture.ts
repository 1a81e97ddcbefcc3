/** @module Test fixture: an audit log on SQLite in memory with a checkpointer whose key lives in a fresh temporary directory. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { migrate, openDatabase, type Database } from '#platform/db/index.js';
import { createCheckpointer, type Checkpointer } from '../checkpointer.js';
import { createAuditLog, type AuditEntry, type AuditLog } from '../log.js';
import { auditMigrations } from '../migrations.js';
import type { AuditEvent } from '../types.js';

/** A log, its checkpointer, clock and key directory. */
export interface AuditFixture {
  db: Database;
  log: AuditLog;
  checkpointer: Checkpointer;
  clock: ManualClock;
  dir: string;
  ctx: RequestContext;
  close(): Promise<void>;
}

/** A fresh fixture; `beforeWrite` is the log's failure-injection seam. */
export async function createAuditFixture(options: { everyEntries?: number; everySeconds?: number; beforeWrite?: (e: AuditEntry) => void; dir?: string } = {}): Promise<AuditFixture> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'mamori-audit-'));
  const db = openDatabase({ url: ':memory:', dataDir: dir });
  await migrate(db, auditMigrations);
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  const log = createAuditLog({ db, clock, policyHash: 'f'.repeat(64), ...(options.beforeWrite !== undefined ? { beforeWrite: options.beforeWrite } : {}) });
  const checkpointer = createCheckpointer(
    { origin: 'test.mamori.example/audit', everyEntries: options.everyEntries ?? 1000, everySeconds: options.everySeconds ?? 300, keyFile: join(dir, 'keys', 'audit-log.key') },
    { db, log, clock },
  );
  return { db, log, checkpointer, clock, dir, ctx: systemContext('test', 'req-test'), close: async () => { await checkpointer.stop(); await db.close(); } };
}

/** `n` distinct events. */
export function events(n: number, offset = 0): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => ({ action: 'test:act', object: { type: 'Thing', id: `thing-${offset + i}` }, outcome: 'success' as const, details: { n: offset + i } }));
}
