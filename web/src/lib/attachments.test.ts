// The checks the dashboard makes before uploading an attachment match what the server would answer.
import { describe, expect, it } from 'vitest';
import { attachmentProblem, formatBytes, guessMediaType, toBase64 } from './attachments.js';

const allowed = ['application/pdf', 'text/plain', 'application/vnd.tcpdump.pcap'];

describe('attachments before upload', () => {
  it('declares the browser type when the server takes it, else one from the extension, else none', () => {
    expect(guessMediaType('a.pdf', 'application/pdf', allowed)).toBe('application/pdf');
    expect(guessMediaType('capture.pcap', '', allowed)).toBe('application/vnd.tcpdump.pcap');
    expect(guessMediaType('notes.LOG', 'application/octet-stream', allowed)).toBe('text/plain');
    expect(guessMediaType('photo.png', 'image/png', allowed)).toBeUndefined();
    expect(guessMediaType('noext', '', allowed)).toBeUndefined();
  });
  it('refuses empty, oversized and unaccepted files before reading them', () => {
    const limits = { maxBytes: 1024, mediaTypes: allowed };
    expect(attachmentProblem({ size: 0 }, 'text/plain', limits)).toBe('empty');
    expect(attachmentProblem({ size: 1025 }, 'text/plain', limits)).toBe('tooLarge');
    expect(attachmentProblem({ size: 1024 }, 'text/plain', limits)).toBeUndefined();
    expect(attachmentProblem({ size: 10 }, undefined, limits)).toBe('type');
    expect(attachmentProblem({ size: 10 }, 'image/png', limits)).toBe('type');
  });
  it('encodes bytes as the base64 Node produces, across chunk boundaries', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    expect(toBase64(new Uint8Array())).toBe('');
  });
  it('formats sizes', () => {
    expect(formatBytes(300)).toBe('300 B');
    expect(formatBytes(12 * 1024)).toBe('12.0 KiB');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10.0 MiB');
  });
});
