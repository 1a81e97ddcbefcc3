/** @module Receipts for filings: the SHA-256 of the canonical (JCS) filing and the time, signed with the reporting Ed25519 key. */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize, createPrivateFileOnce } from '#modules/audit/index.js';

/** A key that signs receipts. */
export interface ReceiptSigner {
  /** SHA-256 (hex, first 16 chars) of the public key: names the key in receipts. */
  keyId: string;
  /** The public key, SPKI DER in base64. */
  publicKey: string;
  sign(data: Buffer): string;
}

/** Where the receipt key lives by default. */
export function defaultReceiptKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'reporting-receipts.key');
}

function signerFrom(priv: KeyObject): ReceiptSigner {
  const pub = createPublicKey(priv).export({ type: 'spki', format: 'der' });
  return {
    keyId: createHash('sha256').update(pub).digest('hex').slice(0, 16),
    publicKey: pub.toString('base64'),
    sign: (data) => sign(null, data, priv).toString('base64'),
  };
}

/** An in-memory signer (tests, benchmarks). */
export function ephemeralReceiptSigner(): ReceiptSigner {
  return signerFrom(generateKeyPairSync('ed25519').privateKey);
}

/** Loads the Ed25519 key at `path`, creating it (PKCS#8 PEM, mode 0600) on first use. @see RFC 8032 §5.1 */
export function loadOrCreateReceiptSigner(path: string): ReceiptSigner {
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    // Exclusive creation: replicas starting together on one empty path all end up with the first key.
    if (createPrivateFileOnce(path, privateKey.export({ type: 'pkcs8', format: 'pem' }))) return signerFrom(privateKey);
  }
  return signerFrom(createPrivateKey(readFileSync(path, 'utf8')));
}

/** The SHA-256 (hex) of a filing's canonical JSON. @see RFC 8785 (JCS) */
export function filingHash(filing: unknown): string {
  return createHash('sha256').update(canonicalize(filing as never)).digest('hex');
}

/** A receipt as the operator downloads it. */
export interface Receipt {
  receiptId: string;
  subjectType: 'notification' | 'incident_version';
  subjectId: string;
  orgId: string;
  filedAt: string;
  sha256: string;
  canonicalization: 'RFC 8785 JCS';
  recipients: string[];
  keyId: string;
  algorithm: 'Ed25519';
  /** Ed25519 over the JCS of every other field. */
  signature: string;
}

/** Builds and signs a receipt. */
export function makeReceipt(signer: ReceiptSigner, body: Omit<Receipt, 'signature' | 'keyId' | 'algorithm' | 'canonicalization'>): Receipt {
  const unsigned = { ...body, canonicalization: 'RFC 8785 JCS' as const, keyId: signer.keyId, algorithm: 'Ed25519' as const };
  return { ...unsigned, signature: signer.sign(Buffer.from(canonicalize(unsigned as never), 'utf8')) };
}

/** Checks a receipt's signature against a public key (SPKI DER base64). */
export function verifyReceipt(receipt: Receipt, publicKey: string): boolean {
  const { signature, ...unsigned } = receipt;
  const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
  return verify(null, Buffer.from(canonicalize(unsigned as never), 'utf8'), key, Buffer.from(signature, 'base64'));
}
