// Audit log verification in the browser with WebCrypto: RFC 9162 leaf hashes, inclusion and consistency proofs, and the
// Ed25519 signature of a C2SP checkpoint (docs/audit-formats.md).
import { canonicalize } from './jcs.js';

/** Standard base64 (RFC 4648 §4) to bytes; undefined when malformed. */
export function fromBase64(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Bytes to standard base64. */
export function toBase64(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Leaf hash SHA-256(0x00 ‖ bytes). @see RFC 9162 §2.1.1 */
export async function hashLeaf(bytes: Uint8Array): Promise<Uint8Array> {
  return sha256(Uint8Array.of(0), bytes);
}

/** Leaf hash of an audit entry: its RFC 8785 canonical JSON, UTF-8, hashed as a leaf. */
export async function hashEntry(entry: unknown): Promise<Uint8Array> {
  return hashLeaf(new TextEncoder().encode(canonicalize(entry)));
}

/**
 * Whether `leaf` at `index` is in the tree of `size` leaves whose root is `root`, by the proof's sibling
 * hashes. @see RFC 9162 §2.1.3.2
 */
export async function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): Promise<boolean> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leaf.length !== 32 || root.length !== 32 || proof.some((p) => p.length !== 32)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(Uint8Array.of(1), p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else r = await sha256(Uint8Array.of(1), r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * Whether the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves with root
 * `root1` (append-only), by the proof's hashes. Sizes below 1 are refused: a proof from the empty
 * tree proves nothing. @see RFC 9162 §2.1.4.2
 */
export async function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): Promise<boolean> {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  if (proof.length === 0 || root1.length !== 32 || root2.length !== 32 || proof.some((p) => p.length !== 32)) return false;
  // When the old tree is a complete subtree, its root is the proof's implicit first node.
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await sha256(Uint8Array.of(1), c, fr);
      sr = await sha256(Uint8Array.of(1), c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else sr = await sha256(Uint8Array.of(1), sr, c);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, root1) && equal(sr, root2);
}

/** A parsed checkpoint note: its signed text and body, and its signature lines. */
export interface ParsedNote {
  text: string;
  origin: string;
  size: number;
  root: string;
  signatures: { name: string; sig: Uint8Array }[];
}

/** Parses a C2SP signed note holding a tlog checkpoint; undefined when malformed. @see c2sp.org/signed-note */
export function parseCheckpointNote(note: string): ParsedNote | undefined {
  const split = note.indexOf('\n\n');
  if (split < 0) return undefined;
  const text = note.slice(0, split + 1);
  const lines = text.split('\n');
  const [origin, sizeText, root] = lines;
  if (origin === undefined || sizeText === undefined || root === undefined || !/^(0|[1-9][0-9]*)$/.test(sizeText)) return undefined;
  const signatures: ParsedNote['signatures'] = [];
  for (const line of note.slice(split + 2).split('\n')) {
    if (line === '') continue;
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    const sig = m === null ? undefined : fromBase64(m[2]!);
    if (m === null || sig === undefined) return undefined;
    signatures.push({ name: m[1]!, sig });
  }
  return { text, origin, size: Number(sizeText), root, signatures };
}

/** Outcome of checking a checkpoint's signature. */
export type SignatureCheck = 'valid' | 'invalid' | 'unsupported' | 'no-signature';

/**
 * Checks the log's Ed25519 signature on a checkpoint against a published verifier key
 * (`name+keyid+base64(0x01 ‖ key)`). 'unsupported' when this browser's WebCrypto has no Ed25519.
 * @see c2sp.org/signed-note
 */
export async function verifyCheckpointSignature(note: ParsedNote, verifierKey: string): Promise<SignatureCheck> {
  // The name holds no '+', the base64 key may: split at the first two only.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(verifierKey.trim());
  if (m === null) return 'invalid';
  const [, name, keyIdHex, keyB64] = m as unknown as [string, string, string, string];
  const raw = fromBase64(keyB64);
  if (raw === undefined || raw.length !== 33 || raw[0] !== 0x01) return 'invalid';
  const pub = raw.slice(1);
  const keyId = (await sha256(new TextEncoder().encode(name), Uint8Array.of(0x0a, 0x01), pub)).slice(0, 4);
  if ([...keyId].map((b) => b.toString(16).padStart(2, '0')).join('') !== keyIdHex) return 'invalid';
  const line = note.signatures.find((s) => s.name === name && s.sig.length === 68 && equal(s.sig.slice(0, 4), keyId));
  if (line === undefined) return 'no-signature';
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('raw', concat(pub), { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return 'unsupported';
  }
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, concat(line.sig.slice(4)), concat(new TextEncoder().encode(note.text)));
  return ok ? 'valid' : 'invalid';
}
