/** @module Audit's HTTP routes: the published checkpoint, earlier checkpoints and keys, entries by range (role-gated, itself audited), inclusion and consistency proofs. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AnyDb } from '#platform/db/index.js';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import { parseCheckpoint, parseSignedNote, formatVerifierKey, type VerifierKey } from './checkpoint.js';
import type { Checkpointer } from './checkpointer.js';
import type { AuditLog } from './log.js';
import { searchAuditEntries } from './search.js';

/** Most entries one request may ask for. */
export const MAX_ENTRIES_PAGE = 1000;
/** How long the public checkpoint is served from memory before the store is asked again. */
export const PUBLIC_CHECKPOINT_MS = 1000;
/** Most checkpoints one request may list. */
export const MAX_CHECKPOINTS_PAGE = 100;

function invalid(param: string, what: string): AppError {
  return new AppError('VALIDATION_FAILED', `Query parameter ${param}: ${what}.`, { details: [{ path: param, message: what }] });
}

/** A non-negative integer query parameter, or undefined when absent. */
function intParam(req: FastifyRequest, name: string): number | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v))) throw invalid(name, 'give a non-negative whole number');
  return Number(v);
}

/** Registers audit's routes. @see RFC 9162 §2.1.3 @see c2sp.org/tlog-checkpoint */
export function auditRoutes(deps: {
  audit: AuditLog; checkpointer: Checkpointer; policy: PolicyEngine; witnessKey: () => VerifierKey | undefined;
  /** A user's id by username (identity), so the audit search takes the name people see; absent, `actor` is an id. */
  userIdOf?: (username: string) => Promise<string | undefined>;
  /** The database the log lives in (for the search's filtered query). */
  db?: AnyDb;
  /** Calls its argument whenever a newer checkpoint was signed here or by another API replica (serve it at once). */
  onCheckpointSigned?: (listener: () => void) => void;
}): RouteModule {
  const { audit, checkpointer, policy } = deps;

  async function latestOrThrow() {
    const cp = await checkpointer.latest();
    if (cp === undefined) throw new AppError('NOT_FOUND', 'The log has no signed checkpoint yet; it is made after the first entries (or with `mamori audit checkpoint`).');
    return cp;
  }

  async function sizeParam(req: FastifyRequest, name: string): Promise<number> {
    const given = intParam(req, name);
    const { size: head } = await audit.head();
    if (given === undefined) return (await latestOrThrow()).size;
    if (given < 1 || given > head) throw invalid(name, `give a tree size from 1 to ${head}`);
    return given;
  }

  // The public checkpoint is the most polled read (witnesses, monitors, every dashboard): it is served from
  // memory, its JSON rendered once per checkpoint, and the store asked again at most every PUBLIC_CHECKPOINT_MS
  // (another process may have signed), by one query however many requests wait for it.
  // A newer checkpoint signed anywhere drops the served one; a query already under way may have read the older,
  // so its answer is kept only if no signing was announced meanwhile.
  let served: { at: number; note: string; json: string } | undefined;
  let asking: Promise<{ note: string; json: string }> | undefined;
  let generation = 0;
  deps.onCheckpointSigned?.(() => { generation++; served = undefined; asking = undefined; });
  async function publicCheckpoint(): Promise<{ note: string; json: string }> {
    if (served !== undefined && performance.now() - served.at < PUBLIC_CHECKPOINT_MS) return served;
    const started = generation;
    asking ??= (async () => {
      try {
        const cp = await latestOrThrow();
        if (generation !== started) return publicCheckpoint();
        if (served?.note !== cp.note) {
          const note = parseSignedNote(cp.note);
          const body = note.ok ? parseCheckpoint(note.value.text) : undefined;
          const json = JSON.stringify({
            origin: body?.ok === true ? body.value.origin : checkpointer.origin,
            size: cp.size,
            rootHash: cp.root,
            createdAt: cp.createdAt,
            signers: note.ok ? note.value.signatures.map((s) => s.name) : [],
            note: cp.note,
          });
          served = { at: performance.now(), note: cp.note, json };
        } else served.at = performance.now();
        return served;
      } finally {
        if (generation === started) asking = undefined;
      }
    })();
    return asking;
  }

  return (app: FastifyInstance) => {
    app.get('/api/v1/audit/checkpoint', {
      config: { auth: { public: true } },
      schema: { tags: ['audit'], summary: `The latest signed checkpoint (C2SP signed note): JSON, or the note itself with Accept: text/plain or ?format=note. Served from memory, at most ${PUBLIC_CHECKPOINT_MS} ms behind the store.` },
    }, async (req, reply) => {
      const cp = await publicCheckpoint();
      const wantsNote = (req.query as Record<string, unknown>)['format'] === 'note' || /^text\/plain/.test(req.headers.accept ?? '');
      if (wantsNote) {
        void reply.type('text/plain; charset=utf-8');
        return cp.note;
      }
      return reply.type('application/json; charset=utf-8').send(cp.json);
    });

    app.get('/api/v1/audit/checkpoints', {
      config: { auth: { public: true } },
      schema: { tags: ['audit'], summary: `Earlier signed checkpoints, newest first: ?limit= (at most ${MAX_CHECKPOINTS_PAGE}, default 20) below ?before= size; each with its note, for consistency proofs against the latest.` },
    }, async (req) => {
      const limit = intParam(req, 'limit') ?? 20;
      if (limit < 1 || limit > MAX_CHECKPOINTS_PAGE) throw invalid('limit', `give 1 to ${MAX_CHECKPOINTS_PAGE}`);
      const before = intParam(req, 'before');
      return { checkpoints: await checkpointer.recent(limit, before) };
    });

    app.get('/api/v1/audit/keys', {
      config: { auth: { public: true } },
      schema: { tags: ['audit'], summary: 'The verifier keys (signed-note form) of the log and of the commission witness.' },
    }, async () => {
      const w = deps.witnessKey();
      return { log: checkpointer.verifierKeyString(), witness: w === undefined ? null : formatVerifierKey(w) };
    });

    app.get<{ Params: { ref: string } }>('/api/v1/audit/texts/:ref', { config: { auth: { action: 'audit:read-all' } }, schema: { tags: ['audit'], summary: 'A free text an entry references (…Ref), or that it was redacted.' } }, async (req) => {
      const t = await audit.readText(req.params.ref);
      if (t === undefined) throw new AppError('NOT_FOUND', `No audit text ${req.params.ref}; entries name theirs in details …Ref.`);
      return { text: t };
    });
    app.post<{ Params: { ref: string }; Body: { order?: unknown } }>('/api/v1/audit/texts/:ref/redact', { config: { auth: { action: 'audit:redact' } }, schema: { tags: ['audit'], summary: 'Redact a free text by a commission order ({ order }); the log still verifies. Audited.' } }, async (req) => {
      const order = typeof req.body?.order === 'string' ? req.body.order : '';
      const done = await audit.redactText(ctxOf(req), req.params.ref, order);
      if (!done) throw new AppError('NOT_FOUND', `No unredacted audit text ${req.params.ref}.`);
      return { redacted: true };
    });
    app.get('/api/v1/audit/entries', {
      config: { auth: { action: 'audit:read-own' } },
      schema: { tags: ['audit'], summary: `Entries with index in [from, to) (at most ${MAX_ENTRIES_PAGE}); commissioners see all, others only their own actions. Audited.` },
    }, async (req) => {
      const ctx = ctxOf(req);
      const from = intParam(req, 'from') ?? 0;
      const to = intParam(req, 'to') ?? from + 100;
      if (to < from) throw invalid('to', 'must not be below from');
      if (to - from > MAX_ENTRIES_PAGE) throw invalid('to', `ask for at most ${MAX_ENTRIES_PAGE} entries (to − from)`);
      const all = policy.authorize(ctx, 'audit:read-all').allowed;
      const { size } = await audit.head();
      const end = Math.min(to, size);
      const entries = from >= end ? [] : await audit.entries({ from, to: end, ...(all ? {} : { actorId: ctx.actor.userId ?? ctx.actor.id }) });
      // Reading the log is itself an access the commission can inspect.
      await audit.record(ctx, { action: all ? 'audit:read-all' : 'audit:read-own', object: { type: 'AuditLog', id: `${from}-${end}` }, outcome: 'success', details: { from, to: end, count: entries.length } });
      return { from, to: end, size, scope: all ? 'all' : 'own', entries };
    });

    app.get('/api/v1/audit/search', {
      config: { auth: { action: 'audit:read-all' } },
      schema: {
        tags: ['audit'],
        summary: 'The commission\'s audit view: entries newest first, one page ({ items, nextCursor }; ?limit=, ?cursor=), filtered by actor (username, user id or system:<component>), '
          + 'action (or a family such as findings:), objectType, objectId, outcome, since, until, and system=include|exclude|only. Audited.',
      },
    }, async (req) => {
      const ctx = ctxOf(req);
      if (deps.db === undefined) throw new AppError('INTERNAL', 'The audit search is not wired to the database.');
      const qs = { ...(req.query as Record<string, unknown>) };
      const actor = qs['actor'];
      if (typeof actor === 'string' && !actor.startsWith('system:') && deps.userIdOf !== undefined) qs['actor'] = (await deps.userIdOf(actor.trim())) ?? actor;
      const page = await searchAuditEntries(deps.db, qs);
      await audit.record(ctx, { action: 'audit:read-all', object: { type: 'AuditLog', id: 'search' }, outcome: 'success', details: { count: page.items.length, system: page.query.system } });
      return { items: page.items, nextCursor: page.nextCursor };
    });

    app.get('/api/v1/audit/proofs/inclusion', {
      config: { auth: { public: true } },
      schema: { tags: ['audit'], summary: 'Inclusion proof of an entry (?index= or ?leafHash=) in the tree of ?size= (default: the latest checkpoint).' },
    }, async (req) => {
      let index = intParam(req, 'index');
      const leafHash = (req.query as Record<string, unknown>)['leafHash'];
      if ((index === undefined) === (leafHash === undefined)) throw invalid(index === undefined ? 'index' : 'leafHash', 'give exactly one of index or leafHash');
      if (leafHash !== undefined) {
        if (typeof leafHash !== 'string' || Buffer.from(leafHash, 'base64').length !== 32 || Buffer.from(leafHash, 'base64').toString('base64') !== leafHash) throw invalid('leafHash', 'give a 32-byte hash in standard base64 (URL-encode + / =)');
        index = await audit.indexOfLeaf(leafHash);
        if (index === undefined) throw new AppError('NOT_FOUND', 'No entry has this leaf hash.');
      }
      const size = await sizeParam(req, 'size');
      if (index! >= size) throw invalid('index', `entry ${index!} is not in the tree of size ${size}; give a larger size or wait for the next checkpoint`);
      return audit.inclusionProof(index!, size);
    });

    app.get('/api/v1/audit/proofs/consistency', {
      config: { auth: { public: true } },
      schema: { tags: ['audit'], summary: 'Consistency proof between tree sizes ?size1= and ?size2= (default: the latest checkpoint).' },
    }, async (req) => {
      const size1 = intParam(req, 'size1');
      if (size1 === undefined) throw invalid('size1', 'give the smaller tree size');
      const size2 = await sizeParam(req, 'size2');
      if (size1 < 1 || size1 > size2) throw invalid('size1', `give a size from 1 to ${size2}`);
      return audit.consistencyProof(size1, size2);
    });
  };
}
