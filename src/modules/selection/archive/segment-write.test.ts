/** @module The segment writer's files hold exactly each row's allowed values: NULL for a field the basis withholds, an address that is not foreign, a pseudonym that is not one. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import { syntheticSelected } from '../test-support/selected.js';
import { CATEGORIES } from '../classify.js';
import { ADDR_ABSENT, ADDR_FOREIGN, ADDR_PSEUDONYM, type SelectedBatch } from '../minimize.js';
import { FIELD_BIT, FLOW_FIELDS } from '../schema.js';
import { liveFiles, listPartitions, WAL_DIR } from './layout.js';
import { partitionOrder, writeSegment } from './segment-write.js';
import { openSegment } from './wal.js';
import { Scratch } from '../scratch.js';
import { writeAddress } from '#modules/collection/index.js';

const dirs: string[] = [];
const engines: DuckDb[] = [];
afterEach(() => { for (const e of engines.splice(0)) e.close(); for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

const half = (b: Uint8Array, at: number): string => Buffer.from(b.subarray(at, at + 8)).readBigUInt64BE().toString();

/** What a row must read back as (the archive's columns; times in ms). */
function expected(b: SelectedBatch, i: number): Record<string, unknown> {
  const has = (f: keyof typeof FIELD_BIT): boolean => (b.fields[i]! & FIELD_BIT[f]) !== 0;
  const kinds = { src: b.srcKind[i]!, dst: b.dstKind[i]! };
  const addr = (side: 'src' | 'dst', kind: number, h: 'hi' | 'lo'): string | null => (kinds[side] === kind ? half(side === 'src' ? b.srcAddr : b.dstAddr, i * 16 + (h === 'hi' ? 0 : 8)) : null);
  const pseudonymous = kinds.src === ADDR_PSEUDONYM || kinds.dst === ADDR_PSEUDONYM;
  return {
    category: CATEGORIES[b.category[i]!] ?? null, start: b.start[i], end: has('end') ? b.end[i] : null,
    src_ip_hi: addr('src', ADDR_FOREIGN, 'hi'), src_ip_lo: addr('src', ADDR_FOREIGN, 'lo'), dst_ip_hi: addr('dst', ADDR_FOREIGN, 'hi'), dst_ip_lo: addr('dst', ADDR_FOREIGN, 'lo'),
    src_pseudonym_hi: addr('src', ADDR_PSEUDONYM, 'hi'), src_pseudonym_lo: addr('src', ADDR_PSEUDONYM, 'lo'),
    dst_pseudonym_hi: addr('dst', ADDR_PSEUDONYM, 'hi'), dst_pseudonym_lo: addr('dst', ADDR_PSEUDONYM, 'lo'),
    pseudonym_period: pseudonymous ? (b.periods[b.periodIndex[i]!] ?? null) : null,
    src_port: has('srcPort') ? b.srcPort[i] : null, dst_port: has('dstPort') ? b.dstPort[i] : null, proto: has('proto') ? b.proto[i] : null,
    tcp_flags: has('tcpFlags') ? b.tcpFlags[i] : null, bytes: has('bytes') ? b.bytes[i] : null, packets: has('packets') ? b.packets[i] : null,
    sampling_rate: has('samplingRate') ? b.samplingRate[i] : null, in_if: has('inIf') ? b.inIf[i] : null, out_if: has('outIf') ? b.outIf[i] : null,
    exporter: has('exporter') ? (b.exporters[b.exporterIndex[i]!] ?? null) : null,
  };
}

async function roundTrip(b: SelectedBatch, scratch?: Scratch): Promise<{ rows: Record<string, unknown>[]; files: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-segment-write-'));
  dirs.push(dir);
  mkdirSync(join(dir, WAL_DIR));
  const s = openSegment(join(dir, WAL_DIR), 'seg1');
  s.append(b);
  s.close();
  const e = await openDuckDb();
  engines.push(e);
  const r = await writeSegment(e, dir, 'seg1', { excluded: [], recovered: false }, scratch);
  const files = listPartitions(dir).flatMap((p) => liveFiles(p.dir));
  const u = (c: string): string => `${c}::VARCHAR AS ${c}`;
  const rows = await e.all(`SELECT category, epoch_ms(start) AS start, epoch_ms("end") AS "end", ${['src_ip_hi', 'src_ip_lo', 'dst_ip_hi', 'dst_ip_lo', 'src_pseudonym_hi', 'src_pseudonym_lo', 'dst_pseudonym_hi', 'dst_pseudonym_lo'].map(u).join(', ')},
    pseudonym_period, src_port, dst_port, proto, tcp_flags, bytes, packets, sampling_rate, in_if, out_if, exporter
    FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]) ORDER BY start`);
  expect(r.rows).toBe(rows.length);
  return { rows: rows.map((x) => ({ ...x, start: Number(x['start']), end: x['end'] === null ? null : Number(x['end']) })), files: files.length };
}

describe('segment write', () => {
  it('writes every value a row may keep and NULL for the rest, across chunks, partitions, enum widths and kinds', async () => {
    // Two hours (two partitions), 5,000 rows a partition (chunks of 2,048 and a partial one).
    const b = syntheticSelected(10_000, { startMs: Date.parse('2026-05-01T10:59:55Z') });
    for (let i = 0; i < b.length; i++) b.start[i] = Date.parse('2026-05-01T10:00:00Z') + (i < 5000 ? i : 3_600_000 + i);
    b.periods = ['2026-04', '2026-05', '2026-06'];
    b.exporters = Array.from({ length: 300 }, (_, k) => `192.0.2.${k % 256}/${k}`); // 300 members: u16 indexes
    const all = FLOW_FIELDS.reduce((a, f) => a | FIELD_BIT[f], 0);
    for (let i = 0; i < b.length; i++) {
      b.category[i] = i % 3;
      b.fields[i] = i % 5 === 0 ? all & ~(FIELD_BIT.end | FIELD_BIT.bytes | FIELD_BIT.exporter) : i % 7 === 0 ? FIELD_BIT.start | FIELD_BIT.proto : all;
      b.srcKind[i] = i % 11 === 0 ? ADDR_ABSENT : i % 2 === 0 ? ADDR_FOREIGN : ADDR_PSEUDONYM;
      b.dstKind[i] = i % 2 === 0 ? ADDR_PSEUDONYM : ADDR_FOREIGN;
      if (b.dstKind[i] === ADDR_FOREIGN) b.dstAddr.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 203, 0, 113, i & 255], i * 16);
      b.periodIndex[i] = i % 3;
      b.exporterIndex[i] = i % 300;
      b.bytes[i] = i * 3;
      b.inIf[i] = i % 4;
    }
    const { rows, files } = await roundTrip(b);
    expect(files).toBe(2);
    const want = Array.from({ length: b.length }, (_, i) => expected(b, i));
    expect(rows).toEqual(want);
  }, 60_000);

  it('writes a column every row shares (one exporter, period, interface) and indexes outside their tables as NULL', async () => {
    const b = syntheticSelected(3001);
    b.periodIndex[5] = 9; // no such period: NULL, as the SQL lookup gave before
    b.category[7] = 200; // no such category: NULL too
    b.proto[1] = 17; // columns that are the same on every row but one (in the first word, in the last bytes)
    b.tcpFlags[3000] = 2;
    b.packets[3000] = 3;
    b.packets[2999] = -0; // not the same bits as 2
    b.inIf[2] = 1;
    // A scratch whose buffers a larger, different segment used before: nothing of it may show.
    const scratch = new Scratch();
    const other = syntheticSelected(5000, { bytes: 7 });
    for (let i = 0; i < other.length; i++) { other.inIf[i] = i; other.outIf[i] = 9; other.periodIndex[i] = 0; }
    await roundTrip(other, scratch);
    const { rows } = await roundTrip(b, scratch);
    expect(rows).toEqual(Array.from({ length: b.length }, (_, i) => expected(b, i)));
    expect(rows[5]).toMatchObject({ pseudonym_period: null });
    expect(rows[7]).toMatchObject({ category: null });
    expect(rows[6]).toMatchObject({ pseudonym_period: '2026-05', exporter: '192.0.2.1/0', sampling_rate: 1 });
  }, 60_000);

  it('writes each partition in foreign-address order (IPv4 before IPv6, stable in row order) and leaves out an excluded basis', async () => {
    // Three bases over two hours, foreign addresses scrambled; b2 is purged meanwhile (excluded).
    const n = 9000;
    const b = syntheticSelected(n, { bases: ['b1', 'b2', 'b3'] });
    const t0 = Date.parse('2026-05-01T10:30:00Z');
    const key = (i: number): [number, number, number] => {
      const k = (i * 7919) % 5003;
      return k % 9 === 0 ? [1, 0x20010db8, k] : [0, ((198 << 24) | (51 << 16) | ((k >> 8) << 8) | (k & 255)) >>> 0, 0];
    };
    for (let i = 0; i < n; i++) {
      b.start[i] = t0 + (i % 4) * 900_000 + i; // 10:30–11:15: two hours
      const [v6, v4, k] = key(i);
      writeAddress(b.srcAddr, i * 16, v6 === 1 ? `2001:db8::${k.toString(16)}` : `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`);
      b.bytes[i] = i; // the row's index, to read the order back
    }
    const dir = mkdtempSync(join(tmpdir(), 'mamori-segment-write-'));
    dirs.push(dir);
    mkdirSync(join(dir, WAL_DIR));
    const s = openSegment(join(dir, WAL_DIR), 'seg1');
    s.append(b);
    s.close();
    const e = await openDuckDb();
    engines.push(e);
    const r = await writeSegment(e, dir, 'seg1', { excluded: ['b2'], recovered: false });
    expect(r).toMatchObject({ rows: 6000, purgedRows: 3000, files: 4 });
    for (const p of listPartitions(dir)) {
      const [file] = liveFiles(p.dir);
      const got = (await e.all(`SELECT bytes FROM read_parquet('${file}') ORDER BY file_row_number`)).map((x) => Number(x['bytes']));
      const hour = Date.parse(`${p.hour}:00:00Z`);
      const want = Array.from({ length: n }, (_, i) => i)
        .filter((i) => `b${(i % 3) + 1}` === p.basis && Math.floor(b.start[i]! / 3_600_000) * 3_600_000 === hour)
        .sort((x, y) => key(x)[0] - key(y)[0] || key(x)[1] - key(y)[1] || x - y);
      expect(p.basis).not.toBe('b2');
      expect(got).toEqual(want);
    }
  }, 60_000);
});

describe('partitionOrder', () => {
  it('places rows by partition, family and foreign key (stable, both radix passes), an excluded basis last; a reused Scratch', () => {
    const n = 5000;
    const b = syntheticSelected(n, { bases: ['b0', 'b1', 'b2'], startMs: Date.parse('2026-05-01T10:59:00Z') });
    let x = 7;
    const rnd = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
    const key = new Uint32Array(n), v6 = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      b.basisIndex[i] = rnd() % 3;
      b.start[i] = Date.parse('2026-05-01T10:59:00Z') + (rnd() % 120_000); // two hours
      b.srcKind[i] = ADDR_FOREIGN; b.dstKind[i] = ADDR_PSEUDONYM;
      const a = b.srcAddr.subarray(i * 16, i * 16 + 16);
      a.fill(0);
      key[i] = (rnd() % 4) * 0x01000000 + (rnd() % 3) * 0x10000 + (rnd() % 3); // digits that differ in both 16-bit halves
      v6[i] = rnd() % 4 === 0 ? 1 : 0;
      if (v6[i] === 1) { a.set([key[i]! >>> 24, (key[i]! >>> 16) & 255, (key[i]! >>> 8) & 255, key[i]! & 255], 0); a[15] = 1; }
      else { a[10] = 0xff; a[11] = 0xff; a.set([key[i]! >>> 24, (key[i]! >>> 16) & 255, (key[i]! >>> 8) & 255, key[i]! & 255], 12); }
    }
    const scratch = new Scratch();
    for (let round = 0; round < 2; round++) {
      scratch.reset();
      const o = partitionOrder(b, new Set([1]), scratch);
      // The reference: rows of bases 0 and 2 sorted by (partition in first-seen order, family, key), ties in row order.
      const seen = new Map<string, number>();
      const part = (i: number): number => {
        const k = `${b.basisIndex[i]}/${Math.floor(b.start[i]! / 3_600_000)}`;
        if (!seen.has(k)) seen.set(k, seen.size);
        return seen.get(k)!;
      };
      const rows = [...Array(n).keys()].filter((i) => b.basisIndex[i] !== 1);
      const p = new Map(rows.map((i) => [i, part(i)]));
      const sorted = [...rows].sort((i, j) => p.get(i)! - p.get(j)! || v6[i]! - v6[j]! || key[i]! - key[j]! || i - j);
      expect(o.kept).toBe(rows.length);
      expect(o.purgedRows).toBe(n - rows.length);
      sorted.forEach((i, place) => expect(o.pos[i]).toBe(place));
      for (let i = 0; i < n; i++) if (b.basisIndex[i] === 1) expect(o.pos[i]).toBe(o.kept);
      expect(o.parts.map((q) => ({ ...q }))).toEqual([...seen.keys()].map((k, q) => {
        const [basis, hour] = k.split('/').map(Number);
        const from = sorted.findIndex((i) => p.get(i) === q);
        return { basis, hourMs: hour! * 3_600_000, from, to: from + sorted.filter((i) => p.get(i) === q).length };
      }));
    }
  });
});
