/** @module The archiver's rounds: the Parquet files it wrote are stored in the bucket under a round record, and only then are the stream messages they hold acknowledged. */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { lazyDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { ArchiveBucket } from './bucket.js';
import { flowObjectName, isRound, META, parseFlowObject, purgedObjectName, roundObjectName, type FlowObjectName } from './names.js';

/**
 * A round record. `pending` is written before the files, `committed` after the last: a pending record found at start
 * is a round cut short (its messages were never acknowledged), so its files are deleted and the messages archived again.
 */
export interface RoundRecord {
  id: string;
  state: 'pending' | 'committed';
  files: string[];
  /** Stream sequences by consumer (durable name) whose rows the files hold. */
  seqs: Record<string, number[]>;
  /** Their message ids (a second stored copy of one publish comes under another sequence). */
  ids: string[];
}

/** What one stored round did. */
export interface StoredRound { files: number; rows: number; bytes: number; purgedFiles: number; purgedRows: number }

/** Staged files of the archiver's local directory, listed once its writer flushed. */
export interface Staged { files: { path: string; name: FlowObjectName }[] }

/** What recovery found: sequences and ids already archived (their redeliveries are acknowledged, not archived again). */
export interface Recovered { seqs: Map<string, number[]>; ids: string[]; committed: number; rolledBack: number; deletedFiles: number }

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The archiver's side of the bucket. One archiver runs at a time (its lease); `staged` lists what its writer wrote
 * under `dir`, `store` stores a round, `recover` runs at start, `prune` forgets records every message of which is
 * acknowledged (their redelivery cannot happen any more), `close` closes the DuckDB engine it opened from `engine`.
 * @see docs/decisions/0010-replicated-archive.md
 */
export function createRoundStore(deps: { bucket: ArchiveBucket; dir: string; engine: () => Promise<DuckDb> }) {
  const { bucket, dir } = deps;
  // Opened at the first round with files and kept; opened again after a failed open (a full disk, a spill directory that
  // could not be made), which must not fail every later round until a restart (lazyDuckDb).
  const engine = lazyDuckDb(deps.engine);
  // Committed records not yet pruned (id → sequences by durable).
  const live = new Map<string, Record<string, number[]>>();
  // A round that failed part-way keeps its id: the retry overwrites its record and files, so a crash never leaves two records for one file.
  let current: string | undefined;

  const putRecord = (r: RoundRecord): Promise<unknown> => bucket.putBytes(roundObjectName(r.id), enc.encode(JSON.stringify(r)));

  async function rowsOf(paths: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (paths.length === 0) return out;
    const e = await engine.get();
    const list = `[${paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ')}]`;
    for (const r of await e.all(`SELECT file_name, num_rows FROM parquet_file_metadata(${list})`)) {
      const f = String(r['file_name']);
      out.set(f, (out.get(f) ?? 0) + Number(r['num_rows']));
    }
    return out;
  }

  async function purgedBases(bases: Iterable<string>): Promise<Set<string>> {
    const out = new Set<string>();
    for (const b of bases) if ((await bucket.info(purgedObjectName(b))) !== null) out.add(b);
    return out;
  }

  return {
    /**
     * Empties the local directory before the writer starts (as the leader): whatever a previous archiver left there
     * (write-ahead segments, files) was either stored by a committed round or never acknowledged, and comes again.
     */
    clearStaging(): void {
      if (!existsSync(dir)) return;
      for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true, force: true });
    },

    /** The Parquet files under `dir` (after the writer's flush: nothing half-written is there). */
    staged(): Staged {
      const files: Staged['files'] = [];
      if (!existsSync(dir)) return { files };
      for (const b of readdirSync(dir)) {
        if (!b.startsWith('basis=')) continue;
        for (const h of readdirSync(join(dir, b))) {
          if (!h.startsWith('hour=')) continue;
          for (const f of readdirSync(join(dir, b, h))) {
            const name = parseFlowObject(`flows/${b}/${h}/${f}`);
            if (name !== undefined) files.push({ path: join(dir, b, h, f), name });
          }
        }
      }
      return { files };
    },

    /**
     * Stores a round: the pending record, every file (metadata: rows, round), the committed record; files of a basis
     * purged meanwhile are not stored (and deleted if the tombstone came while they were); then the local copies go.
     * Throws when the bucket cannot be reached: nothing is to be acknowledged then, and the next round tries again.
     */
    async store(staged: Staged, seqs: Record<string, number[]>, ids: string[]): Promise<StoredRound> {
      const out: StoredRound = { files: 0, rows: 0, bytes: 0, purgedFiles: 0, purgedRows: 0 };
      if (staged.files.length === 0) return out;
      const id = (current ??= `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`);
      const rows = await rowsOf(staged.files.map((f) => f.path));
      const bases = new Set(staged.files.map((f) => f.name.basis));
      const gone = await purgedBases(bases);
      const keep = staged.files.filter((f) => !gone.has(f.name.basis));
      const names = keep.map((f) => flowObjectName(f.name));
      await putRecord({ id, state: 'pending', files: names, seqs, ids });
      for (const f of keep) {
        const n = rows.get(f.path) ?? 0;
        await bucket.putFile(flowObjectName(f.name), f.path, { [META.rows]: String(n), [META.round]: id });
        out.files++;
        out.rows += n;
        out.bytes += statSync(f.path).size;
      }
      await putRecord({ id, state: 'committed', files: names, seqs, ids });
      current = undefined;
      live.set(id, seqs);
      // A purge whose tombstone came while the files went in has listed the bucket before they were there: delete them here.
      const late = await purgedBases(new Set(keep.map((f) => f.name.basis)));
      for (const f of keep) if (late.has(f.name.basis)) await bucket.delete(flowObjectName(f.name));
      for (const f of staged.files) {
        if (gone.has(f.name.basis)) { out.purgedFiles++; out.purgedRows += rows.get(f.path) ?? 0; }
        rmSync(f.path, { force: true });
      }
      removeEmptyDirs(dir);
      return out;
    },

    /** At start (as the leader): committed rounds' sequences and ids; pending rounds rolled back (their files deleted). */
    async recover(): Promise<Recovered> {
      const out: Recovered = { seqs: new Map(), ids: [], committed: 0, rolledBack: 0, deletedFiles: 0 };
      const objects = await bucket.list();
      const present = new Set(objects.map((o) => o.name));
      for (const o of objects.filter((x) => isRound(x.name))) {
        const raw = await bucket.getBytes(o.name);
        if (raw === null) continue;
        const r = JSON.parse(dec.decode(raw)) as RoundRecord;
        if (r.state === 'committed') {
          out.committed++;
          live.set(r.id, r.seqs);
          for (const [durable, list] of Object.entries(r.seqs)) out.seqs.set(durable, [...(out.seqs.get(durable) ?? []), ...list]);
          out.ids.push(...r.ids);
          continue;
        }
        for (const f of r.files) if (present.has(f)) { await bucket.delete(f); out.deletedFiles++; }
        await bucket.delete(o.name);
        out.rolledBack++;
      }
      return out;
    },

    /** Deletes the records every sequence of which is at or below its consumer's acknowledgement floor. */
    async prune(floorOf: (durable: string) => Promise<number>): Promise<number> {
      const floors = new Map<string, number>();
      let pruned = 0;
      for (const [id, seqs] of live) {
        let done = true;
        for (const [durable, list] of Object.entries(seqs)) {
          if (!floors.has(durable)) floors.set(durable, await floorOf(durable));
          if (list.some((s) => s > floors.get(durable)!)) { done = false; break; }
        }
        if (!done) continue;
        await bucket.delete(roundObjectName(id));
        live.delete(id);
        pruned++;
      }
      return pruned;
    },

    /** Closes the engine it opened (at the archiver's exit). */
    close: (): Promise<void> => engine.close(),
  };
}

/** The archiver's rounds. */
export type RoundStore = ReturnType<typeof createRoundStore>;

function removeEmptyDirs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const b of readdirSync(dir)) {
    if (!b.startsWith('basis=')) continue;
    const bd = join(dir, b);
    for (const h of readdirSync(bd)) if (h.startsWith('hour=') && readdirSync(join(bd, h)).length === 0) rmSync(join(bd, h), { recursive: true, force: true });
    if (readdirSync(bd).length === 0) rmSync(bd, { recursive: true, force: true });
  }
}

