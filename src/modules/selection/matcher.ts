/** @module The compiled matcher: legal bases turned into typed-array masks, so each flow is checked against every basis in a few lookups. */
import { CAT_INBOUND, CAT_OUTBOUND, CAT_TRANSIT } from './classify.js';
import { addPrefix, compileTable, normalizeLayer, type RangeSet, type RangeTable } from './ranges.js';
import { FIELD_BIT, type LegalBasis } from './schema.js';

/** Bases compiled for the hot loop; bit `j` of every mask stands for `bases[j]`. */
export interface CompiledBases {
  readonly bases: readonly LegalBasis[];
  /** 32-bit words per mask. */
  readonly words: number;
  readonly foreign: { table: RangeTable; masks: Uint32Array; any: Uint32Array };
  readonly domestic: { table: RangeTable; masks: Uint32Array; any: Uint32Array };
  /** [category * words + w]: bases allowed for the category (transit approvals: transit; the others: inbound and outbound). */
  readonly category: Uint32Array;
  /** [proto * words + w]. */
  readonly proto: Uint32Array;
  /** [port * words + w]: bases whose port list holds the port (or is empty). */
  readonly port: Uint32Array;
  readonly validFrom: Float64Array;
  readonly validUntil: Float64Array;
  readonly revoked: Uint8Array;
  /** Field mask (FIELD_BIT) of each basis. */
  readonly fieldMask: Uint16Array;
  /** When this compilation was made (ms); the selector reloads when the store says something changed. */
  readonly version: number;
}

function setBit(arr: Uint32Array, row: number, words: number, j: number): void {
  arr[row * words + (j >>> 5)]! |= 1 << (j & 31);
}

/** Builds a table mapping each address to the set of bases whose prefix list holds it. */
function unionTable(lists: readonly (readonly string[])[], words: number): { table: RangeTable; masks: Uint32Array; any: Uint32Array } {
  const any = new Uint32Array(words);
  const perBasis: RangeSet[] = lists.map((prefixes, j) => {
    const set: RangeSet = { v4: [], v6: [] };
    if (prefixes.length === 0) any[j >>> 5]! |= 1 << (j & 31);
    for (const p of prefixes) addPrefix(set, p, 1);
    return { v4: normalizeLayer(set.v4), v6: normalizeLayer(set.v6) };
  });
  const combos = new Map<string, number>();
  const maskRows: Uint32Array[] = [new Uint32Array(words)]; // id 0: no basis
  const sweep = <T extends number | bigint>(layers: { start: T; end: T }[][], succ: (x: T) => T, pred: (x: T) => T): { start: T; end: T; value: number }[] => {
    const bounds: T[] = [];
    for (const l of layers) for (const r of l) bounds.push(r.start, succ(r.end));
    bounds.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const ptr = layers.map(() => 0);
    const out: { start: T; end: T; value: number }[] = [];
    for (let i = 0; i < bounds.length - 1; i++) {
      const lo = bounds[i]!;
      if (lo === bounds[i + 1]) continue;
      const mask = new Uint32Array(words);
      let hit = false;
      layers.forEach((layer, j) => {
        let p = ptr[j]!;
        while (p < layer.length && layer[p]!.end < lo) p++;
        ptr[j] = p;
        const r = layer[p];
        if (r !== undefined && r.start <= lo) { mask[j >>> 5]! |= 1 << (j & 31); hit = true; }
      });
      if (!hit) continue;
      const key = mask.join(',');
      let id = combos.get(key);
      if (id === undefined) { id = maskRows.length; combos.set(key, id); maskRows.push(mask); }
      out.push({ start: lo, end: pred(bounds[i + 1]!), value: id });
    }
    return out;
  };
  const v4 = sweep(perBasis.map((s) => s.v4), (x) => x + 1, (x) => x - 1);
  const v6 = sweep(perBasis.map((s) => s.v6), (x) => x + 1n, (x) => x - 1n);
  const masks = new Uint32Array(maskRows.length * words);
  maskRows.forEach((m, i) => masks.set(m, i * words));
  return { table: compileTable({ v4, v6 }), masks, any };
}

/**
 * Compiles bases (active ones and recently ended ones, so drops can say `revoked` or `expired`).
 * @see DESIGN.md invariant 2
 */
export function compileBases(bases: readonly LegalBasis[], version = 0): CompiledBases {
  const n = bases.length;
  const words = Math.max(1, Math.ceil(n / 32));
  const category = new Uint32Array(5 * words);
  const proto = new Uint32Array(256 * words);
  const port = new Uint32Array(65536 * words);
  const validFrom = new Float64Array(n);
  const validUntil = new Float64Array(n);
  const revoked = new Uint8Array(n);
  const fieldMask = new Uint16Array(n);
  bases.forEach((b, j) => {
    if (b.kind === 'transit_approval') setBit(category, CAT_TRANSIT, words, j);
    else { setBit(category, CAT_INBOUND, words, j); setBit(category, CAT_OUTBOUND, words, j); }
    const protos = b.selectors.protocols.length === 0 ? Array.from({ length: 256 }, (_, i) => i) : b.selectors.protocols;
    for (const p of protos) setBit(proto, p, words, j);
    if (b.selectors.ports.length === 0) for (let p = 0; p < 65536; p++) setBit(port, p, words, j);
    else for (const p of b.selectors.ports) setBit(port, p, words, j);
    validFrom[j] = Date.parse(b.validFrom);
    validUntil[j] = Date.parse(b.validUntil);
    revoked[j] = b.revokedAt !== null ? 1 : 0;
    let m = 0;
    for (const f of b.allowedFields) m |= FIELD_BIT[f];
    fieldMask[j] = m;
  });
  return {
    bases,
    words,
    foreign: unionTable(bases.map((b) => b.selectors.foreignPrefixes), words),
    domestic: unionTable(bases.map((b) => (b.kind === 'transit_approval' ? [] : b.selectors.domesticPrefixes)), words),
    category, proto, port, validFrom, validUntil, revoked, fieldMask, version,
  };
}

/** Per-batch exporter masks: `[exporterIndex * words + w]`, bases whose exporter list names the exporter (or is empty). */
export function exporterMasks(c: CompiledBases, exporters: readonly string[]): Uint32Array {
  const out = new Uint32Array(Math.max(1, exporters.length) * c.words);
  exporters.forEach((name, e) => {
    c.bases.forEach((b, j) => {
      if (b.selectors.exporters.length === 0 || b.selectors.exporters.includes(name)) setBit(out, e, c.words, j);
    });
  });
  return out;
}
