/** @module Template and pending-data caches of a domain: template sets read, withdrawn, expired; data sets held for their template. */
import { Role, roleOf } from '../information-elements.js';
import { compileTemplate } from './compiled.js';
import { decodeDataSet } from './records.js';
import { type DecoderState, type Domain, type HeaderContext, problem } from './state.js';
import type { DecodeErrorCode } from './types.js';
import { VARIABLE, u16, u32 } from './wire.js';

/**
 * Reads a template or options template set: a new template is compiled and unlocks held data, a refresh only renews it.
 * @see RFC 7011 §3.4, RFC 3954 §5.2–5.3
 */
export function readTemplates(s: DecoderState, d: Domain, body: Uint8Array, version: 9 | 10, optionsSet: boolean, nowMs: number): void {
  let o = 0;
  while (o + 4 <= body.length) {
    const id = u16(body, o);
    const start = o;
    if (id < 256) {
      // Trailing zero bytes are padding (RFC 3954 §5.3, RFC 7011 §3.3.1), not a template.
      if (body.subarray(o).every((x) => x === 0)) return;
      if (version === 10 && id === (optionsSet ? 3 : 2) && u16(body, o + 2) === 0) {
        // RFC 7011 §8.1: template id 2 (3) with no fields withdraws all (options) templates.
        for (const t of [...d.templates.values()]) if (t.options === optionsSet) removeTemplate(s, d, t.id);
        o += 4;
        continue;
      }
      return problem(s, 'BAD_TEMPLATE');
    }
    let fieldCount: number;
    let scopeCount = 0;
    if (version === 9 && optionsSet) {
      if (o + 6 > body.length) return problem(s, 'BAD_TEMPLATE');
      const scopeLen = u16(body, o + 2);
      const optLen = u16(body, o + 4);
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0) return problem(s, 'BAD_TEMPLATE');
      scopeCount = scopeLen / 4;
      fieldCount = scopeCount + optLen / 4;
      o += 6;
    } else {
      fieldCount = u16(body, o + 2);
      o += 4;
      if (version === 10 && optionsSet && fieldCount > 0) {
        if (o + 2 > body.length) return problem(s, 'BAD_TEMPLATE');
        scopeCount = u16(body, o);
        o += 2;
        if (scopeCount === 0 || scopeCount > fieldCount) return problem(s, 'BAD_TEMPLATE');
      }
    }
    if (fieldCount === 0) {
      // A withdrawal (RFC 7011 §8.1); v9 has none, so there it is malformed.
      if (version === 9) return problem(s, 'BAD_TEMPLATE');
      removeTemplate(s, d, id);
      continue;
    }
    const roles = new Uint8Array(fieldCount);
    const lengths = new Uint16Array(fieldCount);
    let minLength = 0;
    for (let f = 0; f < fieldCount; f++) {
      if (o + 4 > body.length) return problem(s, 'BAD_TEMPLATE');
      let type = u16(body, o);
      const len = u16(body, o + 2);
      o += 4;
      let enterprise = 0;
      if (version === 10 && (type & 0x8000) !== 0) {
        if (o + 4 > body.length) return problem(s, 'BAD_TEMPLATE');
        enterprise = u32(body, o);
        type &= 0x7fff;
        o += 4;
      } else if (version === 9 && type >= 32768) {
        enterprise = 1;
      }
      // Scope fields of v9 options name the scope (system, interface...), not elements.
      roles[f] = version === 9 && f < scopeCount ? Role.SKIP : roleOf(type, enterprise);
      lengths[f] = len;
      minLength += len === VARIABLE && version === 10 ? 1 : len;
    }
    if (minLength === 0) return problem(s, 'BAD_TEMPLATE');
    const wire = new Uint8Array(body.subarray(start, o));
    const old = d.templates.get(id);
    if (old !== undefined && old.options === optionsSet && sameBytes(old.wire, wire)) {
      old.refreshedAtMs = nowMs;
      continue;
    }
    if (old === undefined && (d.templates.size >= s.cfg.maxTemplatesPerDomain || s.templateCount >= s.cfg.maxTemplates)) {
      problem(s, 'TEMPLATE_LIMIT');
      continue;
    }
    if (s.templateFields - (old?.roles.length ?? 0) + fieldCount > s.cfg.maxTemplateFields) {
      problem(s, 'TEMPLATE_LIMIT');
      continue;
    }
    removeTemplate(s, d, id);
    const plan = s.cfg.compileTemplates ? compileTemplate(version, optionsSet, roles, lengths) : undefined;
    d.templates.set(id, { id, options: optionsSet, roles, lengths, minLength, wire, refreshedAtMs: nowMs, plan });
    s.templateCount++;
    s.templateFields += fieldCount;
    drainPending(s, d, id);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Forgets a template, if the domain has it. */
export function removeTemplate(s: DecoderState, d: Domain, id: number): void {
  const t = d.templates.get(id);
  if (t === undefined) return;
  d.templates.delete(id);
  s.templateCount--;
  s.templateFields -= t.roles.length;
}

/** Holds a copy of a data set whose template has not arrived, within the per-domain and global bounds. */
export function holdPending(s: DecoderState, d: Domain, templateId: number, body: Uint8Array, ctx: HeaderContext, nowMs: number): void {
  if (s.cfg.maxPendingSetsPerDomain <= 0 || body.length > s.cfg.maxPendingBytes) {
    s.exp.counters.templatesMissing++;
    return problem(s, 'TEMPLATE_MISSING');
  }
  while (d.pending.length >= s.cfg.maxPendingSetsPerDomain || (s.pendingBytes + body.length > s.cfg.maxPendingBytes && d.pending.length > 0)) {
    dropPending(s, d, 0, 'PENDING_OVERFLOW');
  }
  if (s.pendingBytes + body.length > s.cfg.maxPendingBytes) {
    // Other exporters hold the buffer; this one must not evict their data.
    s.exp.counters.templatesMissing++;
    return problem(s, 'PENDING_OVERFLOW');
  }
  // Copy (a Node Buffer's slice() would not): the caller's datagram buffer is reused for the next packet.
  d.pending.push({ templateId, body: new Uint8Array(body), ctx, receivedAtMs: nowMs });
  s.pendingSets++;
  s.pendingBytes += body.length;
  s.result.pending++;
}

/** Drops a held data set, counting its template as missing. */
export function dropPending(s: DecoderState, d: Domain, index: number, code: DecodeErrorCode): void {
  const [p] = d.pending.splice(index, 1);
  if (p === undefined) return;
  s.pendingSets--;
  s.pendingBytes -= p.body.length;
  s.exp.counters.templatesMissing++;
  problem(s, code);
}

/** Decodes the held data sets that wait for this template. */
export function drainPending(s: DecoderState, d: Domain, templateId: number): void {
  const t = d.templates.get(templateId);
  if (t === undefined) return;
  for (let i = 0; i < d.pending.length; ) {
    const p = d.pending[i]!;
    if (p.templateId !== templateId) { i++; continue; }
    d.pending.splice(i, 1);
    s.pendingSets--;
    s.pendingBytes -= p.body.length;
    decodeDataSet(s, d, t, p.body, p.ctx);
  }
}

/** Forgets the domain's templates and held data sets that timed out. */
export function expireDomain(s: DecoderState, d: Domain, nowMs: number): void {
  for (const t of [...d.templates.values()]) if (nowMs - t.refreshedAtMs > s.cfg.templateTimeoutMs) removeTemplate(s, d, t.id);
  for (let i = d.pending.length - 1; i >= 0; i--) {
    if (nowMs - d.pending[i]!.receivedAtMs > s.cfg.pendingTimeoutMs) dropPending(s, d, i, 'TEMPLATE_MISSING');
  }
}
