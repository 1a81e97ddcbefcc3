/** @module Attachment checks: allowed media types, size limits, and that the bytes are what the declared type says. */
import { AppError } from '#platform/errors/index.js';

/** Media types accepted by default. */
export const DEFAULT_ATTACHMENT_TYPES = ['application/pdf', 'text/plain', 'text/csv', 'application/json', 'image/png', 'image/jpeg', 'application/zip', 'application/vnd.tcpdump.pcap'] as const;

const MAGIC: Record<string, (b: Buffer) => boolean> = {
  'application/pdf': (b) => b.subarray(0, 5).toString('latin1') === '%PDF-',
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'application/zip': (b) => b.length > 3 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6),
  'application/vnd.tcpdump.pcap': (b) => b.length >= 4 && [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a].includes(b.readUInt32BE(0)),
  'text/plain': isText,
  'text/csv': isText,
  'application/json': (b) => {
    if (!isText(b)) return false;
    try { JSON.parse(b.toString('utf8')); return true; } catch { return false; }
  },
};

function isText(b: Buffer): boolean {
  if (b.includes(0)) return false;
  try { new TextDecoder('utf-8', { fatal: true }).decode(b); return true; } catch { return false; }
}

/** Decodes and checks an attachment; throws PAYLOAD_TOO_LARGE or UNSUPPORTED_MEDIA_TYPE naming the field. */
export function checkAttachment(input: { mediaType: string; contentBase64: string }, limits: { maxBytes: number; mediaTypes: readonly string[] }): { mediaType: string; bytes: Buffer } {
  const mediaType = input.mediaType.split(';')[0]!.trim().toLowerCase();
  if (!limits.mediaTypes.includes(mediaType)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `mediaType: ${mediaType} is not accepted; use one of ${limits.mediaTypes.join(', ')}.`, { details: [{ path: 'mediaType', message: 'media type not accepted' }] });
  }
  const b64 = input.contentBase64;
  const approx = Math.floor((b64.length * 3) / 4) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
  if (approx > limits.maxBytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `contentBase64: the file is ${approx} bytes; at most ${limits.maxBytes} bytes are accepted.`, { details: [{ path: 'contentBase64', message: `larger than ${limits.maxBytes} bytes` }] });
  }
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length === 0) throw new AppError('VALIDATION_FAILED', 'contentBase64: the file is empty.', { details: [{ path: 'contentBase64', message: 'empty' }] });
  const check = MAGIC[mediaType];
  if (check !== undefined && !check(bytes)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `mediaType: the content is not ${mediaType}; declare the file's real type.`, { details: [{ path: 'mediaType', message: 'content does not match the declared type' }] });
  }
  return { mediaType, bytes };
}
