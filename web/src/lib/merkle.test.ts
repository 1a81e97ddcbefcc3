// The browser's verifier against the RFC 9162 reference vectors (transparency-dev/merkle) and a real signed checkpoint.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalize } from './jcs.js';
import { fromBase64, hashLeaf, parseCheckpointNote, toBase64, verifyCheckpointSignature, verifyConsistency, verifyInclusion } from './merkle.js';

const DIR = join(import.meta.dirname, '../../../../shared/testdata/merkle/inclusion');
const CONSISTENCY_DIR = join(import.meta.dirname, '../../../../shared/testdata/merkle/consistency');

interface Vector { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean }
interface ConsistencyVector { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean }

function vectors<V = Vector>(dir = DIR): { file: string; v: V }[] {
  const out: { file: string; v: V }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.json')) out.push({ file: join(d, e.name), v: JSON.parse(readFileSync(join(d, e.name), 'utf8')) as V });
    }
  };
  walk(dir);
  return out;
}

describe('inclusion proofs (RFC 9162 §2.1.3.2)', () => {
  const all = vectors();
  it('has the reference vectors', () => expect(all.length).toBeGreaterThan(20));
  it.each(all.map((x) => [x.file.slice(DIR.length + 1), x.v] as const))('%s', async (_name, v) => {
    const dec = (s: string) => fromBase64(s) ?? new Uint8Array(0);
    const ok = await verifyInclusion(dec(v.leafHash ?? ''), v.leafIdx, v.treeSize, (v.proof ?? []).map(dec), dec(v.root ?? ''));
    expect(ok).toBe(!v.wantErr);
  });
  it('hashes leaves as SHA-256(0x00 ‖ d)', async () => {
    expect(toBase64(await hashLeaf(Uint8Array.of(0x40, 0x41, 0x42, 0x43)))).toBe('QnGia+DYqE8L1UyMMC58s6O10fpngKQLzOKHNHfatlg=');
  });
});

describe('consistency proofs (RFC 9162 §2.1.4.2)', () => {
  const all = vectors<ConsistencyVector>(CONSISTENCY_DIR);
  const dec = (s: string) => fromBase64(s) ?? new Uint8Array(0);
  it('has the reference vectors', () => expect(all.length).toBeGreaterThan(90));
  it.each(all.map((x) => [x.file.slice(CONSISTENCY_DIR.length + 1), x.v] as const))('%s', async (_name, v) => {
    expect(await verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(dec), dec(v.root1 ?? ''), dec(v.root2 ?? ''))).toBe(!v.wantErr);
  });
  it('accepts each happy path and refuses it with the roots swapped', async () => {
    const happy = all.filter((x) => x.file.endsWith('happy-path.json'));
    expect(happy.length).toBeGreaterThanOrEqual(5);
    for (const { v } of happy) {
      const proof = (v.proof ?? []).map(dec);
      expect(await verifyConsistency(v.size1, v.size2, proof, dec(v.root1), dec(v.root2))).toBe(true);
      if (v.size1 === v.size2) continue;
      expect(await verifyConsistency(v.size1, v.size2, proof, dec(v.root2), dec(v.root1))).toBe(false);
    }
  });
});

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys and writes numbers in ECMAScript form', () => {
    expect(canonicalize({ b: 1e21, a: [true, null, 'é\n'], c: { z: 0.5, y: -0 } })).toBe('{"a":[true,null,"é\\n"],"b":1e+21,"c":{"y":0,"z":0.5}}');
  });
});

describe('checkpoint signature (C2SP signed-note)', () => {
  // A checkpoint and verifier key from a demo run of the server.
  const note = 'mamori.go.jp/audit\n54\nllLqBfcO08cxPyNiHcseo36M6q1LbYe6sW1gkedLYjg=\n\n\u2014 mamori.go.jp/audit TKMft9gRjfwfoYyzJ0pdBZ2o7eDZ3m3g/NfzhVB440plZDvexp4GBtqIALWy6nw9rvh3MGbCXCWI1kx5gYNMFNq50gU=\n';
  const key = 'mamori.go.jp/audit+4ca31fb7+AenF+Qv7ecedzbdmAi116vvUEfYqByhehfASsB69YJZQ';
  it('accepts the log signature', async () => {
    const parsed = parseCheckpointNote(note)!;
    expect(parsed.size).toBe(54);
    expect(await verifyCheckpointSignature(parsed, key)).toBe('valid');
  });
  it('rejects a changed tree size', async () => {
    expect(await verifyCheckpointSignature(parseCheckpointNote(note.replace('\n54\n', '\n55\n'))!, key)).toBe('invalid');
  });
  it('finds no signature for another key', async () => {
    const other = 'mamori.go.jp/audit+00000000+AenF+Qv7ecedzbdmAi116vvUEfYqByhehfASsB69YJZQ';
    expect(await verifyCheckpointSignature(parseCheckpointNote(note)!, other)).toBe('invalid');
  });
});
