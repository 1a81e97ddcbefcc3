/** @module C2SP signed notes, tlog checkpoints and tlog-cosignature/v1 witness cosignatures over Ed25519 (node:crypto only). */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { AppError, err, ok, type Result } from '#platform/errors/index.js';
import { HASH_BYTES } from './merkle.js';

/** Signature type byte of a plain Ed25519 note signature. @see c2sp.org/signed-note §Ed25519 signatures */
export const SIG_ED25519 = 0x01;

/** Signature type byte of a timestamped Ed25519 witness cosignature. @see c2sp.org/tlog-cosignature §Format */
export const SIG_COSIGNATURE_V1 = 0x04;

/** The two signature types this system signs and verifies. @see c2sp.org/signed-note §Signature types */
export type SignatureType = typeof SIG_ED25519 | typeof SIG_COSIGNATURE_V1;

/** Notes with more signature lines are rejected; the spec asks verifiers to accept at least 16. @see c2sp.org/signed-note §Format */
export const MAX_SIGNATURES = 100;

const EM_DASH_PREFIX = '\u2014 ';
const ED25519_SIG_BYTES = 64;
const TIMESTAMP_BYTES = 8;
// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410 §7), so node:crypto can import it.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const COSIGNATURE_HEADER = 'cosignature/v1\n';

/** A public key that verifies note signatures of one name and type. @see c2sp.org/signed-note §Signatures */
export interface VerifierKey {
  readonly name: string;
  readonly type: SignatureType;
  /** The 4-byte key ID as an unsigned big-endian integer. */
  readonly keyId: number;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** A private key that signs notes (type 0x01) or cosigns checkpoints (type 0x04). @see c2sp.org/signed-note §Signatures */
export interface SignerKey extends VerifierKey {
  readonly privateKey: KeyObject;
}

/** One parsed signature line: who claims to have signed, and the signature bytes after the key ID. @see c2sp.org/signed-note §Format */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** A note split into its signed text (ending in a newline) and its signature lines. @see c2sp.org/signed-note §Format */
export interface SignedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** The tree head a checkpoint states. @see c2sp.org/tlog-checkpoint §Note text */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

/** A key whose signature verified; cosignatures also carry the witness's POSIX timestamp. @see c2sp.org/tlog-cosignature §Format */
export interface VerifiedSignature {
  readonly key: VerifierKey;
  readonly timestamp?: number;
}

function decodeError(message: string): AppError {
  return new AppError('DECODE_FAILED', message);
}

function verifyError(message: string): AppError {
  return new AppError('AUDIT_VERIFY_FAILED', message, { status: 400 });
}

/** Strict standard base64 (RFC 4648 §4): canonical padding and no stray characters, so one value has one spelling. */
function decodeBase64(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? new Uint8Array(bytes) : undefined;
}

function encodeBase64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

/** True when `s` holds an ASCII control character other than newline (signed notes forbid them). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || c === 0x7f) return true;
  }
  return false;
}

/** Why a key name is invalid, or undefined when it is valid. */
function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a key name must not be empty';
  if (/[\s+]|\p{Zs}/u.test(name) || hasControl(name) || /\p{Cs}/u.test(name)) return 'a key name must not contain spaces, plus signs or control characters';
  return undefined;
}

function requireName(name: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new AppError('BAD_REQUEST', `Invalid key name: ${problem}.`);
}

/** The 4-byte key ID SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], big-endian. @see c2sp.org/signed-note §Signatures */
export function computeKeyId(name: string, type: SignatureType, publicKey: Uint8Array): number {
  const digest = createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, type)).update(publicKey).digest();
  return digest.readUInt32BE(0);
}

function keyIdBytes(keyId: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(keyId);
  return new Uint8Array(b);
}

function hexKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

function rawPublicKey(privateKey: KeyObject): Uint8Array {
  // The SPKI DER of an Ed25519 key ends with the 32 raw key bytes (RFC 8410 §4).
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

function signerFromPrivate(name: string, type: SignatureType, privateKey: KeyObject): SignerKey {
  requireName(name);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new AppError('BAD_REQUEST', 'Only Ed25519 private keys can sign notes.');
  const publicKey = rawPublicKey(privateKey);
  return { name, type, keyId: computeKeyId(name, type, publicKey), publicKey, privateKey };
}

/** Generates a fresh Ed25519 signer: type 0x01 for a log's checkpoints, 0x04 for a witness's cosignatures. @see c2sp.org/signed-note §Ed25519 signatures */
export function generateSignerKey(name: string, type: SignatureType = SIG_ED25519): SignerKey {
  return signerFromPrivate(name, type, generateKeyPairSync('ed25519').privateKey);
}

/** Builds a signer from a raw 32-byte Ed25519 seed (RFC 8032 private key). @see RFC 8032 §5.1.5 */
export function signerKeyFromSeed(name: string, seed: Uint8Array, type: SignatureType = SIG_ED25519): SignerKey {
  if (seed.length !== 32) throw new AppError('BAD_REQUEST', 'An Ed25519 seed must be 32 bytes.');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return signerFromPrivate(name, type, privateKey);
}

/** The PKCS#8 PEM of a signer's private key, for a key file the caller writes with mode 0600. @see RFC 8410 §7 */
export function signerKeyToPem(key: SignerKey): string {
  return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Loads a signer from a PKCS#8 PEM Ed25519 private key. @see RFC 8410 §7 */
export function signerKeyFromPem(name: string, pem: string, type: SignatureType = SIG_ED25519): Result<SignerKey> {
  try {
    return ok(signerFromPrivate(name, type, createPrivateKey({ key: pem, format: 'pem' })));
  } catch (cause) {
    return err(new AppError('BAD_REQUEST', 'The key file does not hold a PEM Ed25519 private key for a valid key name.', { cause }));
  }
}

/** The signer key string `PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>` that Go's sumdb/note tools read. @see c2sp.org/signed-note §Signatures */
export function formatSignerKey(key: SignerKey): string {
  const pkcs8 = key.privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = pkcs8.subarray(pkcs8.length - 32);
  return `PRIVATE+KEY+${key.name}+${hexKeyId(key.keyId)}+${encodeBase64(Buffer.concat([Uint8Array.of(key.type), seed]))}`;
}

/** Parses a `PRIVATE+KEY+…` signer key string, checking its key ID against the key. @see c2sp.org/signed-note §Signatures */
export function parseSignerKey(text: string): Result<SignerKey> {
  const m = /^PRIVATE\+KEY\+([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  const raw = m?.[3] === undefined ? undefined : decodeBase64(m[3]);
  if (m === null || raw === undefined || raw.length !== 33) return err(new AppError('BAD_REQUEST', 'A signer key reads PRIVATE+KEY+<name>+<8 hex digits>+<base64 of type and 32-byte seed>.'));
  const type = raw[0];
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) return err(new AppError('BAD_REQUEST', 'Only signer keys of type 0x01 or 0x04 are supported.'));
  let key: SignerKey;
  try {
    key = signerKeyFromSeed(m[1] as string, raw.subarray(1), type);
  } catch (cause) {
    return err(new AppError('BAD_REQUEST', 'The signer key has an invalid name.', { cause }));
  }
  if (hexKeyId(key.keyId) !== m[2]) return err(new AppError('BAD_REQUEST', 'The signer key ID does not match its name and key.'));
  return ok(key);
}

/** The verifier key string `<name>+<hex key id>+<base64(type ‖ public key)>`, safe to publish. @see c2sp.org/signed-note §Verifier keys */
export function formatVerifierKey(key: VerifierKey): string {
  return `${key.name}+${hexKeyId(key.keyId)}+${encodeBase64(Buffer.concat([Uint8Array.of(key.type), key.publicKey]))}`;
}

/** Parses a verifier key string strictly: known type, 32-byte Ed25519 key, key ID equal to its derivation. @see c2sp.org/signed-note §Verifier keys */
export function parseVerifierKey(text: string): Result<VerifierKey> {
  const m = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text);
  if (m === null) return err(new AppError('BAD_REQUEST', 'A verifier key reads <name>+<8 lowercase hex digits>+<base64 of type and public key>.'));
  const [, name, id, b64] = m as unknown as [string, string, string, string];
  const problem = nameProblem(name);
  if (problem !== undefined) return err(new AppError('BAD_REQUEST', `Invalid verifier key: ${problem}.`));
  const raw = decodeBase64(b64);
  if (raw === undefined) return err(new AppError('BAD_REQUEST', 'Invalid verifier key: the key is not canonical standard base64.'));
  const type = raw[0];
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) return err(new AppError('BAD_REQUEST', 'Invalid verifier key: only types 0x01 (Ed25519) and 0x04 (cosignature/v1) are supported.'));
  if (raw.length !== 33) return err(new AppError('BAD_REQUEST', 'Invalid verifier key: an Ed25519 public key is 32 bytes.'));
  const publicKey = raw.slice(1);
  const keyId = computeKeyId(name, type, publicKey);
  if (hexKeyId(keyId) !== id) return err(new AppError('BAD_REQUEST', 'Invalid verifier key: the key ID does not match the name and key.'));
  return ok({ name, type, keyId, publicKey });
}

/** The public half of a signer. @see c2sp.org/signed-note §Verifier keys */
export function verifierOf(key: SignerKey): VerifierKey {
  return { name: key.name, type: key.type, keyId: key.keyId, publicKey: key.publicKey };
}

/** Formats a checkpoint body: origin, size, base64 root hash, then extension lines, each ending in a newline. @see c2sp.org/tlog-checkpoint §Note text */
export function formatCheckpoint(cp: Checkpoint): string {
  if (cp.origin.length === 0 || cp.origin.includes('\n') || hasControl(cp.origin)) throw new AppError('BAD_REQUEST', 'A checkpoint origin must be one non-empty line.');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new AppError('BAD_REQUEST', 'A checkpoint size must be a non-negative safe integer.');
  if (cp.rootHash.length !== HASH_BYTES) throw new AppError('BAD_REQUEST', `A checkpoint root hash must be ${HASH_BYTES} bytes.`);
  for (const e of cp.extensions) if (e.length === 0 || e.includes('\n') || hasControl(e)) throw new AppError('BAD_REQUEST', 'Checkpoint extension lines must be non-empty single lines.');
  return [cp.origin, String(cp.size), encodeBase64(cp.rootHash), ...cp.extensions].map((l) => `${l}\n`).join('');
}

/** Parses a checkpoint body strictly (no leading zeros, 32-byte canonical base64 root, no empty lines). @see c2sp.org/tlog-checkpoint §Note text */
export function parseCheckpoint(text: string): Result<Checkpoint> {
  if (!text.endsWith('\n')) return err(decodeError('A checkpoint body must end with a newline.'));
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return err(decodeError('A checkpoint body needs origin, size and root hash lines.'));
  if (lines.some((l) => l.length === 0)) return err(decodeError('A checkpoint body must not contain empty lines.'));
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (hasControl(text)) return err(decodeError('A checkpoint body must not contain control characters.'));
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) return err(decodeError('The checkpoint size must be a decimal number without leading zeros.'));
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) return err(decodeError('The checkpoint size is too large.'));
  const rootHash = decodeBase64(rootLine);
  if (rootHash === undefined || rootHash.length !== HASH_BYTES) return err(decodeError(`The checkpoint root hash must be the standard base64 of ${HASH_BYTES} bytes.`));
  return ok({ origin, size, rootHash, extensions });
}

/**
 * Splits a note into text and signatures, rejecting anything malformed: invalid UTF-8, control
 * characters, no blank line before the signatures, a line without the em dash, a bad key name,
 * non-canonical base64, a signature shorter than key ID plus one byte, or too many signatures.
 * @see c2sp.org/signed-note §Format
 */
export function parseSignedNote(input: string | Uint8Array): Result<SignedNote> {
  let note: string;
  if (typeof input === 'string') note = input;
  else {
    try {
      note = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      return err(decodeError('A signed note must be valid UTF-8.'));
    }
  }
  if (/\p{Cs}/u.test(note)) return err(decodeError('A signed note must be valid Unicode.'));
  if (hasControl(note)) return err(decodeError('A signed note must not contain control characters other than newline.'));
  if (!note.endsWith('\n')) return err(decodeError('A signed note must end with a newline.'));
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return err(decodeError('A signed note needs a blank line between its text and its signatures.'));
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return err(decodeError(`A signed note may carry at most ${MAX_SIGNATURES} signatures.`));
  const signatures: NoteSignature[] = [];
  for (const [i, line] of lines.entries()) {
    const where = `Signature line ${i + 1}`;
    if (!line.startsWith(EM_DASH_PREFIX)) return err(decodeError(`${where} must start with an em dash (U+2014) and a space.`));
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0 || rest.indexOf(' ', space + 1) >= 0) return err(decodeError(`${where} must read "— <key name> <base64 signature>".`));
    const name = rest.slice(0, space);
    const problem = nameProblem(name);
    if (problem !== undefined) return err(decodeError(`${where}: ${problem}.`));
    const raw = decodeBase64(rest.slice(space + 1));
    if (raw === undefined) return err(decodeError(`${where}: the signature is not canonical standard base64.`));
    if (raw.length < 5) return err(decodeError(`${where}: the signature is shorter than a key ID and one byte.`));
    signatures.push({ name, keyId: Buffer.from(raw).readUInt32BE(0), signature: raw.slice(4) });
  }
  return ok({ text, signatures });
}

/** Serializes a note: text, a blank line, one signature line per signature. @see c2sp.org/signed-note §Format */
export function formatSignedNote(note: SignedNote): string {
  const lines = note.signatures.map((s) => `${EM_DASH_PREFIX}${s.name} ${encodeBase64(Buffer.concat([keyIdBytes(s.keyId), s.signature]))}\n`);
  return `${note.text}\n${lines.join('')}`;
}

function requireNoteText(text: string): void {
  if (!text.endsWith('\n') || text.includes('\n\n') || hasControl(text) || /\p{Cs}/u.test(text)) {
    throw new AppError('BAD_REQUEST', 'Note text must end with a newline and hold no blank lines or control characters.');
  }
}

function cosignedMessage(text: string, timestamp: number): Buffer {
  return Buffer.from(`${COSIGNATURE_HEADER}time ${timestamp}\n${text}`, 'utf8');
}

/** The signature bytes (after the key ID) a signer produces over a note text. */
function signatureFor(text: string, key: SignerKey, timestamp: number | undefined): Uint8Array {
  if (key.type === SIG_ED25519) return new Uint8Array(sign(null, Buffer.from(text, 'utf8'), key.privateKey));
  if (timestamp === undefined || !Number.isSafeInteger(timestamp) || timestamp < 0) throw new AppError('BAD_REQUEST', 'A cosignature needs a non-negative POSIX timestamp in seconds.');
  const ts = Buffer.alloc(TIMESTAMP_BYTES);
  ts.writeBigUInt64BE(BigInt(timestamp));
  return new Uint8Array(Buffer.concat([ts, sign(null, cosignedMessage(text, timestamp), key.privateKey)]));
}

/**
 * Adds the signature of `key` to an existing note (or a bare text ending in a newline), replacing
 * an earlier signature by the same key. Throws AppError BAD_REQUEST on malformed input.
 * @see c2sp.org/signed-note §Format
 */
export function addSignature(noteOrText: string, key: SignerKey, timestamp?: number): string {
  let note: SignedNote;
  if (noteOrText.includes('\n\n')) {
    const parsed = parseSignedNote(noteOrText);
    if (!parsed.ok) throw new AppError('BAD_REQUEST', parsed.error.message, { cause: parsed.error });
    note = parsed.value;
  } else {
    note = { text: noteOrText, signatures: [] };
  }
  requireNoteText(note.text);
  const signature = { name: key.name, keyId: key.keyId, signature: signatureFor(note.text, key, timestamp) };
  const others = note.signatures.filter((s) => s.name !== key.name || s.keyId !== key.keyId);
  if (others.length + 1 > MAX_SIGNATURES) throw new AppError('BAD_REQUEST', `A signed note may carry at most ${MAX_SIGNATURES} signatures.`);
  return formatSignedNote({ text: note.text, signatures: [...others, signature] });
}

/** Signs a checkpoint with the log's Ed25519 key and returns the signed note. @see c2sp.org/tlog-checkpoint §Signatures */
export function signCheckpoint(body: Checkpoint | string, key: SignerKey): string {
  const text = typeof body === 'string' ? body : formatCheckpoint(body);
  const parsed = parseCheckpoint(text);
  if (!parsed.ok) throw new AppError('BAD_REQUEST', parsed.error.message, { cause: parsed.error });
  if (key.type !== SIG_ED25519) throw new AppError('BAD_REQUEST', 'A log signs checkpoints with an Ed25519 (type 0x01) key.');
  return addSignature(text, key);
}

/**
 * Adds a witness's tlog-cosignature/v1 to a signed checkpoint: key ID ‖ 8-byte big-endian time ‖
 * Ed25519 over "cosignature/v1\ntime <t>\n" + body. The caller verifies the log's signature and
 * consistency first; this only signs.
 * @see c2sp.org/tlog-cosignature §Ed25519 signed message
 */
export function cosignCheckpoint(note: string, witnessKey: SignerKey, timestamp: number): string {
  if (witnessKey.type !== SIG_COSIGNATURE_V1) throw new AppError('BAD_REQUEST', 'A witness cosigns with a type 0x04 key.');
  const parsed = parseSignedNote(note);
  if (!parsed.ok) throw new AppError('BAD_REQUEST', parsed.error.message, { cause: parsed.error });
  const body = parseCheckpoint(parsed.value.text);
  if (!body.ok) throw new AppError('BAD_REQUEST', body.error.message, { cause: body.error });
  return addSignature(note, witnessKey, timestamp);
}

/** Checks one signature from a known key; returns the cosignature timestamp, null for a plain signature, or undefined when it fails. */
function checkSignature(text: string, sig: NoteSignature, key: VerifierKey): number | null | undefined {
  const publicKey = publicKeyObject(key.publicKey);
  if (key.type === SIG_ED25519) {
    if (sig.signature.length !== ED25519_SIG_BYTES) return undefined;
    return verify(null, Buffer.from(text, 'utf8'), publicKey, sig.signature) ? null : undefined;
  }
  if (sig.signature.length !== TIMESTAMP_BYTES + ED25519_SIG_BYTES) return undefined;
  const ts = Buffer.from(sig.signature.subarray(0, TIMESTAMP_BYTES)).readBigUInt64BE(0);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const timestamp = Number(ts);
  return verify(null, cosignedMessage(text, timestamp), publicKey, sig.signature.subarray(TIMESTAMP_BYTES)) ? timestamp : undefined;
}

/**
 * Verifies a note against trusted keys. Signatures from unknown (name, key ID) pairs are ignored;
 * a failing signature from a known key rejects the whole note; at least one known key must verify.
 * Returns the text and every key that verified (with the witness time for cosignatures).
 * @see c2sp.org/signed-note §Signatures
 */
export function verifyNote(note: string | SignedNote, verifierKeys: readonly VerifierKey[]): Result<{ text: string; verified: VerifiedSignature[] }> {
  let parsed: SignedNote;
  if (typeof note === 'string') {
    const r = parseSignedNote(note);
    if (!r.ok) return r;
    parsed = r.value;
  } else parsed = note;
  const verified: VerifiedSignature[] = [];
  for (const sig of parsed.signatures) {
    const key = verifierKeys.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (key === undefined) continue;
    if (verified.some((v) => v.key === key)) return err(verifyError(`The note carries two signatures by ${key.name}.`));
    const result = checkSignature(parsed.text, sig, key);
    if (result === undefined) return err(verifyError(`The signature by ${key.name} does not verify.`));
    verified.push(result === null ? { key } : { key, timestamp: result });
  }
  if (verified.length === 0) return err(verifyError('The note carries no signature from a trusted key.'));
  return ok({ text: parsed.text, verified });
}

/**
 * Verifies a witness's cosignature on a checkpoint note and returns its timestamp; other
 * signatures are ignored.
 * @see c2sp.org/tlog-cosignature §Ed25519 signed message
 */
export function verifyCosignature(note: string, witnessKey: VerifierKey): Result<{ timestamp: number }> {
  if (witnessKey.type !== SIG_COSIGNATURE_V1) return err(new AppError('BAD_REQUEST', 'A witness verifier key has type 0x04.'));
  const r = verifyNote(note, [witnessKey]);
  if (!r.ok) return r;
  const body = parseCheckpoint(r.value.text);
  if (!body.ok) return body;
  return ok({ timestamp: r.value.verified[0]?.timestamp ?? 0 });
}

/**
 * Verifies a signed checkpoint: the log's key (whose name must equal the origin) must have signed
 * it, and any other trusted keys (witnesses) that signed are reported.
 * @see c2sp.org/tlog-checkpoint §Signatures
 */
export function openCheckpoint(note: string, logKey: VerifierKey, witnessKeys: readonly VerifierKey[] = []): Result<{ checkpoint: Checkpoint; verified: VerifiedSignature[] }> {
  const r = verifyNote(note, [logKey, ...witnessKeys]);
  if (!r.ok) return r;
  if (!r.value.verified.some((v) => v.key === logKey)) return err(verifyError('The checkpoint is not signed by the log key.'));
  const cp = parseCheckpoint(r.value.text);
  if (!cp.ok) return cp;
  if (cp.value.origin !== logKey.name) return err(verifyError('The checkpoint origin does not match the log key name.'));
  return ok({ checkpoint: cp.value, verified: r.value.verified });
}
