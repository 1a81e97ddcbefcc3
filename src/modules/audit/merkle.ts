/** @module RFC 9162 §2.1 Merkle tree: hashing, proof verification, and storage-backed proof generation from complete subtrees. */
import { createHash } from 'node:crypto';
import { AppError } from '#platform/errors/index.js';

/** Bytes in a SHA-256 hash; every leaf, node and root hash of the log has this length. @see RFC 9162 §2.1 */
export const HASH_BYTES = 32;

/**
 * Key of a complete subtree: level L and index i name the hash of leaves [i·2^L, (i+1)·2^L).
 * Level 0 nodes are the leaf hashes themselves.
 * @see RFC 9162 §2.1.1
 */
export interface NodeKey {
  readonly level: number;
  readonly index: number;
}

/** A complete subtree hash ready to persist. @see RFC 9162 §2.1.1 */
export interface StoredNode extends NodeKey {
  readonly hash: Uint8Array;
}

/**
 * Reads complete-subtree hashes in one batch; the result is aligned with `keys` and a missing node
 * must reject, never return a placeholder.
 * @see RFC 9162 §2.1.3
 */
export interface NodeReader {
  getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]>;
}

/**
 * A proof to assemble: each part is one proof element, the fold of the listed complete subtrees
 * (one key for a complete sibling, several for a right-edge subtree that is not complete yet).
 * @see RFC 9162 §2.1.3.1
 */
export interface ProofPlan {
  readonly parts: readonly (readonly NodeKey[])[];
}

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** The leaf hash MTH({d}) = SHA-256(0x00 ‖ d). @see RFC 9162 §2.1.1 */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(data).digest());
}

/** The interior node hash SHA-256(0x01 ‖ left ‖ right). @see RFC 9162 §2.1.1 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
}

/** The root of the empty tree, MTH({}) = SHA-256(""). @see RFC 9162 §2.1.1 */
export function emptyRoot(): Uint8Array {
  return new Uint8Array(createHash('sha256').digest());
}

/** Plain byte equality: hashes are public, so a timing difference reveals nothing. */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Sizes and indices are plain numbers (safe integers, up to 2^53 − 1 leaves); JavaScript's bitwise
// operators truncate to 32 bits, so shifts and bit tests below are written as arithmetic.
function shr(x: number, bits: number): number {
  return Math.floor(x / 2 ** bits);
}

function isOdd(x: number): boolean {
  return x % 2 === 1;
}

function isCount(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0;
}

function trailingZeros(x: number): number {
  let n = 0;
  while (x > 0 && x % 2 === 0) {
    x /= 2;
    n++;
  }
  return n;
}

function popcount(x: number): number {
  let n = 0;
  for (; x > 0; x = Math.floor(x / 2)) n += x % 2;
  return n;
}

function isPowerOfTwo(x: number): boolean {
  return x > 0 && x === 2 ** trailingZeros(x);
}

/** Complete subtrees covering [start, end), largest first; start must be aligned above end − start. */
function decompose(start: number, end: number): NodeKey[] {
  const keys: NodeKey[] = [];
  let pos = start;
  let remaining = end - start;
  let level = 0;
  while (2 ** (level + 1) <= remaining) level++;
  for (; remaining > 0; level--) {
    const width = 2 ** level;
    if (remaining >= width) {
      keys.push({ level, index: pos / width });
      pos += width;
      remaining -= width;
    }
  }
  return keys;
}

/** Folds complete subtrees (largest first) into the hash of the range they cover, right to left. */
function fold(hashes: readonly Uint8Array[]): Uint8Array {
  let acc = hashes[hashes.length - 1];
  if (acc === undefined) return emptyRoot();
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i] as Uint8Array, acc);
  return acc;
}

/**
 * Proof elements from the complete node (level, index) up to the root of a tree of `size` leaves,
 * bottom-up: the left sibling where the path turns right, the right sibling (possibly a partial
 * right-edge subtree) where it turns left, nothing where the right sibling lies past the end.
 */
function pathParts(level: number, index: number, size: number): NodeKey[][] {
  const parts: NodeKey[][] = [];
  const last = size - 1;
  for (let l = level, i = index; !(i === 0 && shr(last, l) === 0); l++, i = shr(i, 1)) {
    const width = 2 ** l;
    if (isOdd(i)) {
      parts.push([{ level: l, index: i - 1 }]);
      continue;
    }
    const start = (i + 1) * width;
    if (start >= size) continue;
    parts.push(start + width <= size ? [{ level: l, index: i + 1 }] : decompose(start, size));
  }
  return parts;
}

function requireCount(name: string, x: number): void {
  if (!isCount(x)) throw new AppError('BAD_REQUEST', `${name} must be a non-negative safe integer.`);
}

/** Keys to fetch for the root of the first `size` leaves: its complete subtrees, largest first. @see RFC 9162 §2.1.1 */
export function rootPlan(size: number): ProofPlan {
  requireCount('Tree size', size);
  return { parts: [decompose(0, size)] };
}

/** Keys to fetch for the inclusion proof of leaf `index` in a tree of `size` leaves. @see RFC 9162 §2.1.3.1 */
export function inclusionProofPlan(index: number, size: number): ProofPlan {
  requireCount('Leaf index', index);
  requireCount('Tree size', size);
  if (index >= size) throw new AppError('BAD_REQUEST', 'Leaf index must be smaller than the tree size.');
  return { parts: pathParts(0, index, size) };
}

/**
 * Keys to fetch for the consistency proof from `size1` to `size2` leaves (0 < size1 ≤ size2): the
 * largest complete subtree ending at size1 (omitted when size1 is a power of two, as the verifier
 * already holds it as root1) followed by its path to the root of size2.
 * @see RFC 9162 §2.1.4.1
 */
export function consistencyProofPlan(size1: number, size2: number): ProofPlan {
  requireCount('size1', size1);
  requireCount('size2', size2);
  if (size1 === 0 || size1 > size2) throw new AppError('BAD_REQUEST', 'A consistency proof needs 0 < size1 <= size2.');
  if (size1 === size2) return { parts: [] };
  const level = trailingZeros(size1);
  const index = size1 / 2 ** level - 1;
  const head: NodeKey[][] = isPowerOfTwo(size1) ? [] : [[{ level, index }]];
  return { parts: [...head, ...pathParts(level, index, size2)] };
}

/** All keys a plan needs, flattened in order; pass them to `NodeReader.getNodes` in one round trip. @see RFC 9162 §2.1.3.1 */
export function planKeys(plan: ProofPlan): NodeKey[] {
  return plan.parts.flat();
}

/**
 * Combines fetched hashes (aligned with `planKeys(plan)`) into proof elements, folding partial
 * right-edge subtrees from their complete pieces.
 * @see RFC 9162 §2.1.3.1
 */
export function assembleProof(plan: ProofPlan, hashes: readonly Uint8Array[]): Uint8Array[] {
  const wanted = plan.parts.reduce((n, p) => n + p.length, 0);
  if (hashes.length !== wanted) throw new AppError('INTERNAL', `Expected ${wanted} node hashes, got ${hashes.length}.`);
  let at = 0;
  return plan.parts.map((part) => {
    const slice = hashes.slice(at, at + part.length);
    at += part.length;
    return fold(slice);
  });
}

/** Alias of `assembleProof` for inclusion plans, named for the call site. @see RFC 9162 §2.1.3.1 */
export const assembleInclusionProof = assembleProof;

/** Alias of `assembleProof` for consistency plans, named for the call site. @see RFC 9162 §2.1.4.1 */
export const assembleConsistencyProof = assembleProof;

/** Combines the fetched hashes of `rootPlan(size)` into the tree root. @see RFC 9162 §2.1.1 */
export function assembleRoot(plan: ProofPlan, hashes: readonly Uint8Array[]): Uint8Array {
  const [root] = assembleProof(plan, hashes);
  return root ?? emptyRoot();
}

/** Fetches and assembles the inclusion proof of leaf `index` in a tree of `size` leaves. @see RFC 9162 §2.1.3.1 */
export async function inclusionProof(reader: NodeReader, index: number, size: number): Promise<Uint8Array[]> {
  const plan = inclusionProofPlan(index, size);
  return assembleProof(plan, await reader.getNodes(planKeys(plan)));
}

/** Fetches and assembles the consistency proof between two tree sizes. @see RFC 9162 §2.1.4.1 */
export async function consistencyProof(reader: NodeReader, size1: number, size2: number): Promise<Uint8Array[]> {
  const plan = consistencyProofPlan(size1, size2);
  return assembleProof(plan, await reader.getNodes(planKeys(plan)));
}

/** Fetches and assembles the root hash of the first `size` leaves. @see RFC 9162 §2.1.1 */
export async function treeRoot(reader: NodeReader, size: number): Promise<Uint8Array> {
  const plan = rootPlan(size);
  return assembleRoot(plan, await reader.getNodes(planKeys(plan)));
}

/** The root of a list of leaf hashes, computed recursively as the RFC defines it (reference for tests and audits). @see RFC 9162 §2.1.1 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyRoot();
  if (leafHashes.length === 1) return leafHashes[0] as Uint8Array;
  let k = 1;
  while (k * 2 < leafHashes.length) k *= 2;
  return hashChildren(rootFromLeafHashes(leafHashes.slice(0, k)), rootFromLeafHashes(leafHashes.slice(k)));
}

/**
 * The right edge of a tree (its complete subtrees, largest first): all an append needs, and
 * reloadable from the store with `rootPlan(size)` keys.
 * @see RFC 9162 §2.1.1
 */
export interface RightEdge {
  readonly size: number;
  readonly hashes: readonly Uint8Array[];
}

/** The right edge of the empty tree. @see RFC 9162 §2.1.1 */
export function emptyRightEdge(): RightEdge {
  return { size: 0, hashes: [] };
}

/**
 * Appends leaf number `edge.size` and returns the new right edge and the complete nodes to persist
 * (the leaf at level 0, then every subtree it completes), O(log n) hashes.
 * @see RFC 9162 §2.1.1
 */
export function appendLeaf(edge: RightEdge, leafHash: Uint8Array): { edge: RightEdge; nodes: StoredNode[] } {
  if (leafHash.length !== HASH_BYTES) throw new AppError('BAD_REQUEST', `A leaf hash must be ${HASH_BYTES} bytes.`);
  // One edge hash per set bit of the size; counted without allocating (bench/audit appends call this per entry).
  if (edge.hashes.length !== popcount(edge.size)) throw new AppError('INTERNAL', 'The right edge does not match its tree size.');
  const hashes = [...edge.hashes];
  const nodes: StoredNode[] = [{ level: 0, index: edge.size, hash: leafHash }];
  let hash = leafHash;
  let level = 0;
  let index = edge.size;
  // An odd index means a left sibling is complete and waiting on the edge: merge and climb.
  while (isOdd(index)) {
    const left = hashes.pop() as Uint8Array;
    hash = hashChildren(left, hash);
    level++;
    index = shr(index, 1);
    nodes.push({ level, index, hash });
  }
  hashes.push(hash);
  return { edge: { size: edge.size + 1, hashes }, nodes };
}

/**
 * The complete nodes appending leaf `size` creates, given a reader over the existing store: loads
 * the right edge (O(log n) keys, one round trip) and then hashes.
 * @see RFC 9162 §2.1.1
 */
export async function nodesCompletedByAppend(size: number, leafHash: Uint8Array, reader: NodeReader): Promise<StoredNode[]> {
  const keys = planKeys(rootPlan(size));
  const hashes = keys.length === 0 ? [] : await reader.getNodes(keys);
  return appendLeaf({ size, hashes }, leafHash).nodes;
}

/** The root hash of a right edge, without reading the store. @see RFC 9162 §2.1.1 */
export function rightEdgeRoot(edge: RightEdge): Uint8Array {
  return fold(edge.hashes);
}

/**
 * An in-memory node store: appends leaves, keeps every complete subtree, and answers `getNodes`;
 * used by tests and by offline verifiers that rebuild a log from its leaves.
 * @see RFC 9162 §2.1
 */
export class MemoryNodeStore implements NodeReader {
  private readonly nodes = new Map<string, Uint8Array>();
  private edge: RightEdge = emptyRightEdge();

  /** Number of leaves appended so far. */
  get size(): number {
    return this.edge.size;
  }

  /** Current root hash. */
  root(): Uint8Array {
    return rightEdgeRoot(this.edge);
  }

  /** Appends a leaf hash and returns the complete nodes that were stored. */
  append(leafHash: Uint8Array): StoredNode[] {
    const { edge, nodes } = appendLeaf(this.edge, leafHash);
    for (const n of nodes) this.nodes.set(`${n.level}/${n.index}`, n.hash);
    this.edge = edge;
    return nodes;
  }

  /** Hashes a leaf's data (RFC 9162 leaf hash) and appends it. */
  appendData(data: Uint8Array): StoredNode[] {
    return this.append(hashLeaf(data));
  }

  /** Returns the stored hashes for `keys`, rejecting when one is not a complete subtree. */
  getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const k of keys) {
      const h = this.nodes.get(`${k.level}/${k.index}`);
      if (h === undefined) return Promise.reject(new AppError('NOT_FOUND', `No complete subtree at level ${k.level}, index ${k.index}.`));
      out.push(h);
    }
    return Promise.resolve(out);
  }
}

function allHashes(...hs: readonly Uint8Array[]): boolean {
  return hs.every((h) => h.length === HASH_BYTES);
}

/**
 * Verifies that `leafHash` is leaf `index` of the tree of `size` leaves whose root is `root`.
 * Rejects malformed input (sizes out of range, hashes not 32 bytes, too many or too few elements).
 * @see RFC 9162 §2.1.3.2
 */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isCount(index) || !isCount(size) || index >= size) return false;
  if (!allHashes(leafHash, root, ...proof)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = shr(fn, 1);
        sn = shr(sn, 1);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = shr(fn, 1);
    sn = shr(sn, 1);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves with
 * root `root1`. Requires 0 < size1 ≤ size2 (a proof from the empty tree proves nothing); equal sizes
 * need an empty proof and equal roots.
 * @see RFC 9162 §2.1.4.2
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  if (!isCount(size1) || !isCount(size2) || size1 === 0 || size1 > size2) return false;
  if (!allHashes(root1, root2, ...proof)) return false;
  if (size1 === size2) return proof.length === 0 && bytesEqual(root1, root2);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = shr(fn, 1);
    sn = shr(sn, 1);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = shr(fn, 1);
        sn = shr(sn, 1);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = shr(fn, 1);
    sn = shr(sn, 1);
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}
