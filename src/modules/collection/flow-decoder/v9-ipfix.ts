/** @module NetFlow v9 and IPFIX messages: the header, a walk of the sets, each set to the template cache or a data set decoder. */
import { decodeDataSet } from './records.js';
import { trackRecordSequence, trackSequence } from './sequence.js';
import { type DecoderState, type HeaderContext, getDomain, problem } from './state.js';
import { expireDomain, holdPending, readTemplates } from './templates.js';
import { u16, u32 } from './wire.js';

/** Decodes a NetFlow v9 or IPFIX message. @see RFC 3954 §5 (v9), RFC 7011 §3 (IPFIX) */
export function decodeTemplated(s: DecoderState, b: Uint8Array, version: 9 | 10, nowMs: number): void {
  const headerLen = version === 9 ? 20 : 16;
  if (b.length < headerLen) return problem(s, 'TRUNCATED');
  let end = b.length;
  if (version === 10) {
    const len = u16(b, 2);
    if (len < headerLen) return problem(s, 'BAD_LENGTH');
    if (len > b.length) return problem(s, 'TRUNCATED');
    end = len;
  }
  // Walk the set headers first: a structurally broken message changes no state at all.
  for (let o = headerLen; o + 4 <= end; ) {
    const setLen = u16(b, o + 2);
    if (setLen < 4) return problem(s, 'BAD_SET_LENGTH');
    if (o + setLen > end) return problem(s, 'TRUNCATED');
    o += setLen;
  }
  const ctx: HeaderContext = version === 9
    ? { version, sysUptimeMs: u32(b, 4), exportMs: u32(b, 8) * 1000 }
    : { version, sysUptimeMs: NaN, exportMs: u32(b, 4) * 1000 };
  const seq = u32(b, version === 9 ? 12 : 8);
  const d = getDomain(s, version, u32(b, version === 9 ? 16 : 12));
  if (d === undefined) return problem(s, 'DOMAIN_LIMIT');
  expireDomain(s, d, nowMs);
  // v9 sequence numbers count export packets (RFC 3954 §5.1), so the gap is known before decoding.
  if (version === 9) trackSequence(s, d, seq, seq + 1, true);
  let records = 0;
  let optionRecords = 0;
  let recordsKnown = true;
  for (let o = headerLen; o + 4 <= end; ) {
    const setId = u16(b, o);
    const setLen = u16(b, o + 2);
    const body = b.subarray(o + 4, o + setLen);
    o += setLen;
    if (setId === (version === 9 ? 0 : 2)) readTemplates(s, d, body, version, false, nowMs);
    else if (setId === (version === 9 ? 1 : 3)) readTemplates(s, d, body, version, true, nowMs);
    else if (setId >= 256) {
      const t = d.templates.get(setId);
      if (t === undefined) {
        recordsKnown = false;
        holdPending(s, d, setId, body, ctx, nowMs);
      } else {
        const n = decodeDataSet(s, d, t, body, ctx);
        if (n < 0) recordsKnown = false;
        else {
          records += n;
          if (t.options) optionRecords += n;
        }
      }
    } else {
      problem(s, 'BAD_SET_ID');
    }
  }
  // IPFIX sequence numbers count data records (RFC 7011 §3.1); unknown when a set waits for its template.
  if (version === 10) trackRecordSequence(s, d, seq, recordsKnown ? records : undefined, recordsKnown ? records - optionRecords : undefined);
  d.datagrams++;
}
