import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  addSignature,
  computeKeyId,
  cosignCheckpoint,
  formatCheckpoint,
  formatSignedNote,
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  openCheckpoint,
  parseCheckpoint,
  parseSignedNote,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signerKeyFromPem,
  signerKeyFromSeed,
  signerKeyToPem,
  verifierOf,
  verifyCosignature,
  verifyNote,
  type Checkpoint,
  type VerifierKey,
} from './checkpoint.js';
import { hashLeaf } from './merkle.js';

const ORIGIN = 'mamori.example.go.jp/audit';
const SEED = new Uint8Array(32).map((_, i) => i);

/** The note with one byte of its first signature (after the key ID) flipped, still well-formed. */
function flipSignatureByte(note: string, at: number): string {
  const parsed = unwrap(parseSignedNote(note));
  return formatSignedNote({
    text: parsed.text,
    signatures: parsed.signatures.map((s, i) => {
      if (i !== 0) return s;
      const sig = new Uint8Array(s.signature);
      sig[at] = (sig[at] ?? 0) ^ 1;
      return { ...s, signature: sig };
    }),
  });
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: Error }): T {
  if (!r.ok) throw r.error;
  return r.value;
}

const checkpoint: Checkpoint = { origin: ORIGIN, size: 12345, rootHash: hashLeaf(Uint8Array.of(1)), extensions: [] };
const logKey = signerKeyFromSeed(ORIGIN, SEED);
const witness = signerKeyFromSeed('witness.commission.example/w1', SEED.map((b) => b ^ 0xff), SIG_COSIGNATURE_V1);

describe('published vectors', () => {
  // golang.org/x/mod/sumdb/note package documentation and tests (BSD-3-Clause): a signer key,
  // its verifier key and the note it produces. Ed25519 is deterministic, so the bytes must match.
  const goSigner = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const goVerifier = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const goText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const goNote = `${goText}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

  it('signs the Go sumdb/note example byte for byte and verifies it', () => {
    const signer = unwrap(parseSignerKey(goSigner));
    expect(formatSignerKey(signer)).toBe(goSigner);
    expect(formatVerifierKey(signer)).toBe(goVerifier);
    expect(addSignature(goText, signer)).toBe(goNote);
    const verified = unwrap(verifyNote(goNote, [unwrap(parseVerifierKey(goVerifier))]));
    expect(verified.text).toBe(goText);
  });

  it.each([
    // c2sp.org/signed-note example key; golang.org/x/mod tests; transparency-dev/formats cosignature test key (type 0x04).
    ['example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k', SIG_ED25519],
    ['EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop', SIG_ED25519],
    ['remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2', SIG_COSIGNATURE_V1],
  ])('parses %s and writes it back unchanged', (vkey, type) => {
    const key = unwrap(parseVerifierKey(vkey));
    expect(key.type).toBe(type);
    expect(formatVerifierKey(key)).toBe(vkey);
  });

  it('parses the C2SP tlog-cosignature example and decodes its witness timestamp', () => {
    const note = [
      'example.com/behind-the-sofa',
      '20852163',
      'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=',
      '',
      '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=',
      '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==',
      '',
    ].join('\n');
    const parsed = unwrap(parseSignedNote(note));
    expect(unwrap(parseCheckpoint(parsed.text))).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163 });
    const cosig = parsed.signatures[1];
    expect(cosig?.keyId.toString(16)).toBe('8d66cf3f');
    // The spec's example signed message uses "time 1679315147".
    expect(Buffer.from(cosig?.signature.subarray(0, 8) ?? []).readBigUInt64BE(0)).toBe(1679315147n);
    expect(formatSignedNote(parsed)).toBe(note);
  });
});

describe('keys', () => {
  it('computes the key ID as SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], pinned for a fixed seed', () => {
    // Independent derivation: the public key through node:crypto's JWK export, the hash by hand.
    const jwk = createPublicKey(logKey.privateKey).export({ format: 'jwk' });
    const pub = Buffer.from(jwk.x as string, 'base64url');
    expect(Buffer.from(logKey.publicKey).equals(pub)).toBe(true);
    const want = createHash('sha256').update(Buffer.concat([Buffer.from(`${ORIGIN}\n`), Buffer.of(0x01), pub])).digest().subarray(0, 4).toString('hex');
    expect(logKey.keyId.toString(16).padStart(8, '0')).toBe(want);
    // Pinned values for the seed 00 01 … 1f, so a change in derivation or encoding shows.
    expect(pub.toString('hex')).toBe('03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
    expect(want).toBe('04f010e8');
    expect(computeKeyId(ORIGIN, SIG_COSIGNATURE_V1, pub)).not.toBe(logKey.keyId);
  });

  it('round-trips signer keys through PEM and PRIVATE+KEY strings, and verifier keys through their string', () => {
    const key = generateSignerKey('log.example/a');
    const fromPem = unwrap(signerKeyFromPem(key.name, signerKeyToPem(key)));
    expect(Buffer.from(fromPem.publicKey).equals(Buffer.from(key.publicKey))).toBe(true);
    expect(fromPem.keyId).toBe(key.keyId);
    const fromString = unwrap(parseSignerKey(formatSignerKey(key)));
    expect(formatVerifierKey(fromString)).toBe(formatVerifierKey(key));
    expect(unwrap(parseVerifierKey(formatVerifierKey(key)))).toEqual(verifierOf(key));
  });

  it.each([
    ['no plus', 'example.com/foo'],
    ['uppercase key ID', 'example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'],
    ['wrong key ID', 'example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'],
    ['short key ID', 'example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'],
    ['bad base64', 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k!'],
    ['a space in the name', 'a b+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'],
    ['unknown type', `a+00000000+${Buffer.concat([Buffer.of(0x02), Buffer.alloc(32)]).toString('base64')}`],
  ])('rejects a verifier key with %s', (_why, vkey) => {
    const r = parseVerifierKey(vkey);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('BAD_REQUEST');
  });

  it('rejects invalid names and non-Ed25519 PEM keys', () => {
    expect(() => generateSignerKey('')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => generateSignerKey('a+b')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => generateSignerKey('a\u3000b')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    const rsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(signerKeyFromPem('a', rsa).ok).toBe(false);
    expect(signerKeyFromPem('a', 'not a key').ok).toBe(false);
  });
});

describe('checkpoints', () => {
  it('formats and parses the body', () => {
    const body = formatCheckpoint({ ...checkpoint, extensions: ['ext one'] });
    expect(body).toBe(`${ORIGIN}\n12345\n${Buffer.from(checkpoint.rootHash).toString('base64')}\next one\n`);
    expect(unwrap(parseCheckpoint(body))).toEqual({ ...checkpoint, extensions: ['ext one'] });
  });

  it.each([
    ['no trailing newline', `${ORIGIN}\n1\n${'A'.repeat(43)}=`],
    ['two lines', `${ORIGIN}\n1\n`],
    ['leading zero', `${ORIGIN}\n01\n${Buffer.alloc(32).toString('base64')}\n`],
    ['negative size', `${ORIGIN}\n-1\n${Buffer.alloc(32).toString('base64')}\n`],
    ['size beyond 2^53', `${ORIGIN}\n9007199254740993\n${Buffer.alloc(32).toString('base64')}\n`],
    ['short root', `${ORIGIN}\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['unpadded root', `${ORIGIN}\n1\n${Buffer.alloc(32).toString('base64').replace('=', '')}\n`],
    ['empty extension line', `${ORIGIN}\n1\n${Buffer.alloc(32).toString('base64')}\n\next\n`],
    ['empty origin', `\n1\n${Buffer.alloc(32).toString('base64')}\n`],
  ])('rejects a body with %s', (_why, body) => {
    const r = parseCheckpoint(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('DECODE_FAILED');
  });

  it('round-trips a signed checkpoint and reports the log key', () => {
    const note = signCheckpoint(checkpoint, logKey);
    const opened = unwrap(openCheckpoint(note, verifierOf(logKey)));
    expect(opened.checkpoint).toEqual(checkpoint);
    expect(opened.verified.map((v) => v.key.name)).toEqual([ORIGIN]);
  });

  it('round-trips any checkpoint', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (size, rootHash) => {
        const cp = { origin: ORIGIN, size, rootHash, extensions: [] };
        expect(unwrap(openCheckpoint(signCheckpoint(cp, logKey), verifierOf(logKey))).checkpoint).toEqual(cp);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects tampered size, root, body and signature, and a wrong key', () => {
    const note = signCheckpoint(checkpoint, logKey);
    const vk = verifierOf(logKey);
    const otherRoot = Buffer.from(hashLeaf(Uint8Array.of(2))).toString('base64');
    const tampered = [
      note.replace('\n12345\n', '\n12346\n'),
      note.replace(Buffer.from(checkpoint.rootHash).toString('base64'), otherRoot),
      note.replace(ORIGIN, `${ORIGIN}x`),
      flipSignatureByte(note, 10),
    ];
    for (const t of tampered) {
      expect(t).not.toBe(note);
      const r = openCheckpoint(t, vk);
      expect(r.ok).toBe(false);
      // Each stays a well-formed note: the failure is the signature, not the parse.
      if (!r.ok) expect(r.error.code).toBe('AUDIT_VERIFY_FAILED');
    }
    const r = openCheckpoint(note, verifierOf(generateSignerKey(ORIGIN)));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain('no signature from a trusted key');
  });

  it('rejects a note whose origin differs from the log key name', () => {
    const other = generateSignerKey('other.example/log');
    const note = addSignature(formatCheckpoint(checkpoint), other);
    expect(openCheckpoint(note, verifierOf(other)).ok).toBe(false);
  });
});

describe('signed notes', () => {
  const note = signCheckpoint(checkpoint, logKey);

  it.each([
    ['no blank line', note.replace('\n\n', '\n')],
    ['no trailing newline', note.slice(0, -1)],
    ['a hyphen instead of the em dash', note.replace('—', '-')],
    ['a control character', note.replace(ORIGIN, `${ORIGIN}\t`)],
    ['a carriage return', note.replace(/\n$/, '\r\n')],
    ['an extra space', note.replace(`— ${ORIGIN} `, `— ${ORIGIN}  `)],
    ['a name with a plus', note.replace(`— ${ORIGIN}`, `— ${ORIGIN}+x`)],
    ['a too short signature', `${note.slice(0, note.indexOf('—'))}— ${ORIGIN} AAAAAA==\n`],
    ['non-canonical base64', note.replace(/=\n$/, '\n')],
    ['an empty signature line', `${note}\n`],
    ['too many signatures', `${note.slice(0, note.indexOf('—'))}${`— a ${Buffer.alloc(68).toString('base64')}\n`.repeat(101)}`],
  ])('rejects a note with %s', (_why, bad) => {
    const r = parseSignedNote(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('DECODE_FAILED');
  });

  it('rejects invalid UTF-8 bytes and accepts the same note as bytes', () => {
    expect(parseSignedNote(Uint8Array.of(0x61, 0xff, 0x0a, 0x0a)).ok).toBe(false);
    expect(unwrap(parseSignedNote(Buffer.from(note))).signatures).toHaveLength(1);
  });

  it('ignores unknown keys, accepts a known key among them, and rejects a failing known key', () => {
    const stranger = generateSignerKey('stranger.example/k');
    const both = addSignature(note, stranger);
    const ok = unwrap(verifyNote(both, [verifierOf(logKey)]));
    expect(ok.verified.map((v) => v.key.name)).toEqual([ORIGIN]);
    // A key that shares the name and ID of a trusted key but signed with another private key.
    const impostor: VerifierKey = { ...verifierOf(stranger), name: ORIGIN, keyId: logKey.keyId };
    const forged = formatSignedNote({
      text: unwrap(parseSignedNote(both)).text,
      signatures: [...unwrap(parseSignedNote(both)).signatures.map((s) => (s.name === stranger.name ? { ...s, name: impostor.name, keyId: impostor.keyId } : s))],
    });
    const r = verifyNote(forged, [verifierOf(logKey)]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('AUDIT_VERIFY_FAILED');
  });

  it('replaces rather than duplicates a signature by the same key', () => {
    expect(unwrap(parseSignedNote(addSignature(note, logKey))).signatures).toHaveLength(1);
  });
});

describe('witness cosignatures (tlog-cosignature/v1)', () => {
  const note = signCheckpoint(checkpoint, logKey);
  const cosigned = cosignCheckpoint(note, witness, 1_760_000_000);

  it('adds a line with key ID ‖ 8-byte time ‖ Ed25519 signature, verifiable alone or with the log key', () => {
    const sig = unwrap(parseSignedNote(cosigned)).signatures.find((s) => s.name === witness.name);
    expect(sig?.keyId).toBe(computeKeyId(witness.name, SIG_COSIGNATURE_V1, witness.publicKey));
    expect(sig?.signature).toHaveLength(72);
    expect(unwrap(verifyCosignature(cosigned, verifierOf(witness))).timestamp).toBe(1_760_000_000);
    const opened = unwrap(openCheckpoint(cosigned, verifierOf(logKey), [verifierOf(witness)]));
    expect(opened.verified).toEqual([{ key: verifierOf(logKey) }, { key: verifierOf(witness), timestamp: 1_760_000_000 }]);
  });

  it('signs the cosignature/v1 message, not the bare body', () => {
    const sig = unwrap(parseSignedNote(cosigned)).signatures.find((s) => s.name === witness.name);
    const message = Buffer.from(`cosignature/v1\ntime 1760000000\n${formatCheckpoint(checkpoint)}`);
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(witness.publicKey).toString('base64url') }, format: 'jwk' });
    expect(Buffer.from(sig?.signature.subarray(0, 8) ?? []).readBigUInt64BE(0)).toBe(1760000000n);
    // Verified with node:crypto directly, independent of the module's verifier.
    expect(verify(null, message, pub, sig?.signature.subarray(8) ?? new Uint8Array())).toBe(true);
  });

  it('rejects a changed timestamp, a changed body and a wrong witness key', () => {
    const parsed = unwrap(parseSignedNote(cosigned));
    const moved = formatSignedNote({
      text: parsed.text,
      signatures: parsed.signatures.map((s) => {
        if (s.name !== witness.name) return s;
        const sig = new Uint8Array(s.signature);
        sig[7] = (sig[7] ?? 0) ^ 1;
        return { ...s, signature: sig };
      }),
    });
    expect(verifyCosignature(moved, verifierOf(witness)).ok).toBe(false);
    expect(verifyCosignature(cosigned.replace('\n12345\n', '\n12344\n'), verifierOf(witness)).ok).toBe(false);
    expect(verifyCosignature(cosigned, verifierOf(signerKeyFromSeed(witness.name, SEED, SIG_COSIGNATURE_V1))).ok).toBe(false);
    // The same Ed25519 key as a plain (0x01) key has another ID, so the cosignature is not its.
    expect(verifyNote(cosigned, [{ ...verifierOf(witness), type: SIG_ED25519, keyId: computeKeyId(witness.name, SIG_ED25519, witness.publicKey) }]).ok).toBe(false);
  });

  it('refuses to cosign with a log key, to sign checkpoints with a witness key, or to cosign a non-checkpoint', () => {
    expect(() => cosignCheckpoint(note, logKey, 1)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => signCheckpoint(checkpoint, witness)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => cosignCheckpoint(addSignature('hello\n', logKey), witness, 1)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => cosignCheckpoint(note, witness, -1)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
