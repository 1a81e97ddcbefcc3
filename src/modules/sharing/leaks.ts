/** @module Leak tracing: which recipient's marked copy a leaked bundle, object or fragment is, with the evidence. @see docs/sharing.md "Leak tracing" */
import type { Database } from '#platform/db/index.js';
import { AppError } from '#platform/errors/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { DEFAULT_MAX_JSON_DEPTH, jsonTextDepth } from '#platform/text/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { contentHash, msOf, sha256Hex } from './content.js';
import { compareMarks, markObject, unmarkId, type JsonObject, type MarkEvidence } from './fingerprint.js';

/** What leak tracing needs from the sharing service. */
export interface LeakTracingDeps {
  db: Database;
  policy: PolicyEngine;
  audit: AuditRecorder;
  /** Users by id (username, organization) for the report. */
  directory(need: { userIds: readonly string[] }): Promise<{ users: ReadonlyMap<string, { username: string; orgId: string | null }> }>;
  /** A recipient's mark key. */
  keyOf(userId: string): Buffer;
  /** Which of these ids are objects mamori originated. */
  ownedIds(ids: readonly string[]): Promise<Set<string>>;
}

/** Leak tracing; its method is part of the sharing service. */
export function createLeakTracing(deps: LeakTracingDeps) {
  const { policy, audit, directory, keyOf, ownedIds } = deps;
  const k = deps.db.kysely;

  async function receivedBy(userId: string, canonicalId: string): Promise<{ channel: string; at: string }[]> {
    const entries = (await k.selectFrom('intel_collection_entries').select(['collection_id', 'seq']).where('stix_id', '=', canonicalId).execute()) as { collection_id: string; seq: number }[];
    const out: { channel: string; at: string }[] = [];
    for (const e of entries) {
      const seq = Number(e.seq);
      const rows = (await k.selectFrom('sharing_disseminations').select(['channel', 'at', 'objects']).where('recipient_user_id', '=', userId).where('collection_id', '=', e.collection_id).where('seq_min', '<=', seq).where('seq_max', '>=', seq).limit(50).execute()) as { channel: string; at: string; objects: string }[];
      for (const r of rows) if (seqsOf(r.objects).includes(seq)) out.push({ channel: r.channel, at: r.at });
    }
    return out.slice(0, 10);
  }

  return {
    /**
     * Names the recipient(s) whose copy a leaked bundle, object or fragment is, with the evidence:
     * the marks of each leaked object compared with each recipient's expected copy, and the ledger
     * entries showing they received it.
     * @see docs/sharing.md "Leak tracing"
     */
    async traceLeak(ctx: RequestContext, text: string): Promise<LeakReport> {
      policy.require(ctx, 'leak:trace');
      // Parsing the leak recurses; a document nested deeper than any STIX bundle is refused before it can overflow the stack.
      if (jsonTextDepth(text) > DEFAULT_MAX_JSON_DEPTH) throw new AppError('VALIDATION_FAILED', `The leaked text nests deeper than ${DEFAULT_MAX_JSON_DEPTH} levels; no STIX bundle does. Send the bundle or the fragment itself.`, { details: [{ path: 'text', message: `nested deeper than ${DEFAULT_MAX_JSON_DEPTH} levels` }] });
      const leaked = leakedObjects(text);
      const recipients = ((await k.selectFrom('sharing_disseminations').select('recipient_user_id').distinct().execute()) as { recipient_user_id: string }[]).map((x) => x.recipient_user_id);
      const d = await directory({ userIds: recipients });
      const totals = new Map<string, { bits: number; objects: number; conclusive: boolean }>();
      const objectsOut: LeakReport['objects'] = [];
      for (const l of leaked) {
        const candidates = new Set<string>();
        const lid = typeof l['id'] === 'string' ? l['id'] : undefined;
        if (lid !== undefined) {
          candidates.add(lid);
          for (const u of recipients) candidates.add(unmarkId(keyOf(u), lid));
        }
        const ours = await ownedIds([...candidates]);
        const ch = contentHash(l);
        if (ch !== null) for (const x of (await k.selectFrom('intel_objects').select('stix_id').where('content_hash', '=', ch).where('origin', '=', 'mamori').execute()) as { stix_id: string }[]) ours.add(x.stix_id);
        let best: { canonicalId: string; scored: LeakCandidate[] } | undefined;
        for (const cid of ours) {
          const versions = (await k.selectFrom('intel_objects').select(['stix_id', 'modified', 'json']).where('stix_id', '=', cid).execute()) as { stix_id: string; modified: string; json: string }[];
          const lm = typeof l['modified'] === 'string' ? msOf(l['modified']) : undefined;
          const version = versions.find((v) => v.modified === lm) ?? versions.sort((a, b) => (a.modified < b.modified ? 1 : -1))[0];
          if (version === undefined) continue;
          const canonical = JSON.parse(version.json) as JsonObject;
          const scored: LeakCandidate[] = [];
          // A leaked id that is no recipient's form of this object was re-minted: it says nothing either way.
          const idKnown = lid !== undefined && (lid === cid || recipients.some((u) => unmarkId(keyOf(u), lid) === cid));
          for (const u of recipients) {
            const evidence = compareMarks(l, markObject(keyOf(u), canonical)).filter((e) => idKnown || e.mark !== 'id');
            const bits = evidence.filter((e) => e.matched).reduce((s, e) => s + e.bits, 0);
            const against = evidence.filter((e) => !e.matched).reduce((s, e) => s + e.bits, 0);
            if (bits === 0) continue;
            const received = await receivedBy(u, cid);
            scored.push({ userId: u, username: d.users.get(u)?.username ?? null, orgId: d.users.get(u)?.orgId ?? null, bits: Math.round(bits * 10) / 10, bitsAgainst: Math.round(against * 10) / 10, evidence, received });
          }
          scored.sort((a, b) => b.bits - b.bitsAgainst - (a.bits - a.bitsAgainst));
          if (best === undefined || (scored[0]?.bits ?? 0) > (best.scored[0]?.bits ?? 0)) best = { canonicalId: cid, scored };
        }
        objectsOut.push({ leakedId: lid ?? null, canonicalId: best?.canonicalId ?? null, candidates: (best?.scored ?? []).slice(0, 5) });
        for (const c of best?.scored ?? []) {
          const t = totals.get(c.userId) ?? { bits: 0, objects: 0, conclusive: false };
          t.bits += c.bits - c.bitsAgainst;
          t.objects++;
          t.conclusive ||= c.evidence.some((e) => e.matched && e.bits >= 40);
          totals.set(c.userId, t);
        }
      }
      const verdict = [...totals.entries()].filter(([, t]) => t.bits > 0).sort((a, b) => b[1].bits - a[1].bits).map(([u, t]) => ({ userId: u, username: d.users.get(u)?.username ?? null, orgId: d.users.get(u)?.orgId ?? null, score: Math.round(t.bits * 10) / 10, objects: t.objects, conclusive: t.conclusive }));
      await audit.record(ctx, { action: 'leak:trace', object: null, outcome: 'success', details: { leakHash: sha256Hex(text), objects: leaked.length, named: verdict.filter((v) => v.conclusive).length } });
      return { objects: objectsOut, verdict };
    },
  };
}

function seqsOf(objects: string): number[] {
  if (!objects.startsWith('s:')) return [];
  let prev = 0;
  return objects.slice(2).split(',').filter((x) => x !== '').map((d) => (prev += parseInt(d, 36)));
}

/** The objects found in a leaked text: a bundle, an object, a list, or whole objects cut out of a fragment. @see docs/sharing.md */
export function leakedObjects(text: string): JsonObject[] {
  const fromJson = (v: unknown): JsonObject[] => {
    if (Array.isArray(v)) return v.flatMap(fromJson);
    if (v === null || typeof v !== 'object') return [];
    const o = v as JsonObject;
    if (o['type'] === 'bundle' || (Array.isArray(o['objects']) && o['type'] === undefined)) return fromJson(o['objects']);
    return typeof o['type'] === 'string' || typeof o['id'] === 'string' ? [o] : [];
  };
  try {
    return fromJson(JSON.parse(text));
  } catch {
    // A fragment: take every balanced {...} that parses as an object with a type or id, innermost-complete first.
    const out: JsonObject[] = [];
    for (let i = text.indexOf('{'); i >= 0; i = text.indexOf('{', i + 1)) {
      let depth = 0;
      let inString = false;
      for (let j = i; j < text.length; j++) {
        const c = text[j];
        if (inString) { if (c === '\\') j++; else if (c === '"') inString = false; continue; }
        if (c === '"') inString = true;
        else if (c === '{') depth++;
        else if (c === '}' && --depth === 0) {
          try {
            const found = fromJson(JSON.parse(text.slice(i, j + 1)));
            if (found.length > 0 && found.every((f) => f['type'] !== 'bundle')) { out.push(...found); i = j; }
          } catch { /* not a whole object */ }
          break;
        }
      }
    }
    if (out.length === 0) {
      // Bare identifiers in prose still carry the id mark.
      for (const m of text.matchAll(/\b([a-z][a-z0-9-]*--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\b/g)) out.push({ id: m[1]! });
    }
    return out;
  }
}

/** One recipient's score for one leaked object. */
export interface LeakCandidate {
  userId: string;
  username: string | null;
  orgId: string | null;
  bits: number;
  bitsAgainst: number;
  evidence: MarkEvidence[];
  received: { channel: string; at: string }[];
}

/** What `traceLeak` found. */
export interface LeakReport {
  objects: { leakedId: string | null; canonicalId: string | null; candidates: LeakCandidate[] }[];
  verdict: { userId: string; username: string | null; orgId: string | null; score: number; objects: number; conclusive: boolean }[];
}
