/** @module Test helper: synthetic minimized batches with known sums (foreign source, pseudonymous destination, every field allowed). */
import { writeAddress } from '#modules/collection/index.js';
import { ADDR_FOREIGN, ADDR_PSEUDONYM, createSelectedBatch, type SelectedBatch } from '../minimize.js';
import { CAT_INBOUND } from '../classify.js';
import { FIELD_BIT } from '../schema.js';

const ALL_FIELDS = Object.values(FIELD_BIT).reduce((a, b) => a | b, 0);

/**
 * `n` kept flows of `bases` (row i under bases[i % bases.length]) starting at `startMs` one ms apart;
 * bytes = `bytes` on every row, the foreign source 198.51.100.(i % 250) and an IPv6 2001:db8::(i % 1000) now and then.
 */
export function syntheticSelected(n: number, opts: { bases?: string[]; startMs?: number; bytes?: number } = {}): SelectedBatch {
  const bases = opts.bases ?? ['b1'];
  const b = createSelectedBatch(n);
  b.length = n;
  b.basisIds = [...bases];
  b.periods = ['2026-05'];
  b.exporters = ['192.0.2.1/0'];
  for (let i = 0; i < n; i++) {
    b.basisIndex[i] = i % bases.length;
    b.category[i] = CAT_INBOUND;
    b.fields[i] = ALL_FIELDS;
    b.start[i] = (opts.startMs ?? Date.parse('2026-05-01T10:00:00Z')) + i;
    b.end[i] = b.start[i]! + 500;
    writeAddress(b.srcAddr, i * 16, i % 7 === 0 ? `2001:db8::${(i % 1000).toString(16)}` : `198.51.100.${i % 250}`);
    b.srcKind[i] = ADDR_FOREIGN;
    for (let k = 0; k < 16; k++) b.dstAddr[i * 16 + k] = (i * 31 + k) & 255;
    b.dstKind[i] = ADDR_PSEUDONYM;
    b.srcPort[i] = 443;
    b.dstPort[i] = 40_000 + (i % 20_000);
    b.proto[i] = 6;
    b.tcpFlags[i] = 0x18;
    b.bytes[i] = opts.bytes ?? 100;
    b.packets[i] = 2;
    b.samplingRate[i] = 1;
  }
  return b;
}

/**
 * Bytes DuckDB cannot read as Parquet whose frame is whole ("PAR1", a body, a footer length that fits, "PAR1"): a fault
 * inside the footer, which the archive leaves in place and tries again (only a broken frame is set aside as damaged).
 */
export const WHOLE_FRAME_BAD_FOOTER = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(16, 0xab), Buffer.from([8, 0, 0, 0]), Buffer.from('PAR1')]);
