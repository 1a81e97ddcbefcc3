// Attachments before upload: the media type from the file, the server's limits checked first, the bytes as base64.

/** The limits the server enforces on an attachment (sent with the report). */
export interface AttachmentLimits { maxBytes: number; mediaTypes: readonly string[] }

const BY_EXTENSION: Record<string, string> = {
  pdf: 'application/pdf', txt: 'text/plain', log: 'text/plain', csv: 'text/csv', json: 'application/json',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', zip: 'application/zip', pcap: 'application/vnd.tcpdump.pcap', pcapng: 'application/vnd.tcpdump.pcap',
};

/** The media type to declare: the browser's when the server takes it, else one known from the extension, else undefined. */
export function guessMediaType(filename: string, browserType: string, allowed: readonly string[]): string | undefined {
  const declared = browserType.split(';')[0]!.trim().toLowerCase();
  if (declared !== '' && allowed.includes(declared)) return declared;
  const ext = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  const byExt = ext === undefined ? undefined : BY_EXTENSION[ext];
  return byExt !== undefined && allowed.includes(byExt) ? byExt : undefined;
}

/** Why a file cannot be sent, checked before reading it: empty, too large, or of a type the server refuses. */
export function attachmentProblem(file: { size: number }, mediaType: string | undefined, limits: AttachmentLimits): 'empty' | 'tooLarge' | 'type' | undefined {
  if (file.size === 0) return 'empty';
  if (file.size > limits.maxBytes) return 'tooLarge';
  if (mediaType === undefined || !limits.mediaTypes.includes(mediaType)) return 'type';
  return undefined;
}

/** Bytes as standard base64 (what the API takes), in chunks so large files do not overflow the call stack. */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** A byte count for people: 1.5 MiB, 12 KiB, 300 B. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
