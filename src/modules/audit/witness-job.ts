/**
 * @module The commission's witness as a serve job: on the API replicas' leader (or the single server), co-signs the
 * latest checkpoint every `audit.witnessEverySeconds` if it extends the last one co-signed — the rules of
 * `mamori audit witness` — and alerts (error log, metrics) when it refuses.
 */
import { existsSync } from 'node:fs';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { AnyDb } from '#platform/db/index.js';
import { AppError } from '#platform/errors/index.js';
import { formatVerifierKey, openCheckpoint, SIG_COSIGNATURE_V1, verifierOf, type SignerKey, type VerifierKey } from './checkpoint.js';
import { latestCheckpoint, recentCheckpoints, replaceCheckpointNote } from './checkpointer.js';
import { loadSignerKey, writePrivateFile } from './keys.js';
import { verifyConsistency } from './merkle.js';
import { readWitnessState, refuse, witnessCheckpoint, witnessStatePath, type WitnessOutcome, type WitnessState, type WitnessedLog } from './witness.js';

/** What the job needs from the configuration. */
export interface WitnessJobConfig {
  /** The commission's witness key (must exist: the server never creates it). Its state file lies beside it. */
  keyFile: string;
  name: string;
  everySeconds: number;
}

/** What the job needs from the server. */
export interface WitnessJobDeps {
  db: AnyDb;
  log: { consistencyProof(size1: number, size2: number): Promise<{ proof: string[] }> };
  /** The log's verifier key (the checkpointer's); a state file's pinned key must equal it. */
  logKey: () => VerifierKey;
  clock: Clock;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } | undefined;
  /** Told after a note was co-signed (API replicas tell the others to serve the new note). */
  onCosigned?: (size: number) => void;
}

/** Counters for /metrics. */
export interface WitnessJobStats {
  cosigned: number;
  refusals: number;
  /** Whether the last run refused (the log may have been rewritten). */
  refusing: boolean;
  /** The size of the last checkpoint this witness co-signed or found co-signed, if any. */
  size: number | undefined;
}

const PAGE = 100;

/** The witness's public key from its key file, or undefined without one (what the API publishes before a first state file). */
export function witnessVerifierOf(keyFile: string, name: string): VerifierKey | undefined {
  return existsSync(keyFile) ? verifierOf(loadSignerKey(keyFile, name, SIG_COSIGNATURE_V1)) : undefined;
}

/**
 * Refuses to start without a usable commission key file (missing, readable by others, not a key), saying what to do.
 * Checked by every process at start: a leader that failed later would give the lease, and every singleton, away.
 * @see docs/audit.md "The witness inside mamori serve"
 */
export function assertWitnessKey(keyFile: string, name: string): void {
  if (existsSync(keyFile)) {
    loadSignerKey(keyFile, name, SIG_COSIGNATURE_V1);
    return;
  }
  throw new AppError('CONFIG_INVALID', `audit.witnessEverySeconds is set but the witness key file ${keyFile} (audit.witnessKeyFile) does not exist. The key is the commission's and the server never creates it: copy it there (mode 0600; every API replica reads the same key), or set audit.witnessEverySeconds to 0 and let the commission run \`mamori audit witness\` on its own host.`);
}

/**
 * Where the witness continues from: its own state file, or — if newer — the newest stored checkpoint that carries
 * this witness's own valid cosignature (another replica co-signed it while it led). The database cannot forge that
 * cosignature, only delete rows, which at most rolls the start back to an older co-signed point; a consistency proof
 * from there still has to hold. A newer co-signed checkpoint must itself extend the state file's, or the run refuses.
 */
async function continueFrom(deps: WitnessJobDeps, key: SignerKey, logKey: VerifierKey, local: WitnessState | undefined): Promise<WitnessState | undefined> {
  const mine = verifierOf(key);
  let before: number | undefined;
  for (;;) {
    const page = await recentCheckpoints(deps.db, PAGE, before);
    for (const cp of page) {
      if (local !== undefined && cp.size <= local.size) return local;
      const opened = openCheckpoint(cp.note, logKey, [mine]);
      if (!opened.ok) continue;
      const cosig = opened.value.verified.find((v) => v.key === mine);
      if (cosig === undefined) continue;
      const rootHash = opened.value.checkpoint.rootHash;
      const size = opened.value.checkpoint.size;
      if (local !== undefined) {
        const proof = (await deps.log.consistencyProof(local.size, size)).proof.map((p) => Buffer.from(p, 'base64'));
        if (!verifyConsistency(local.size, size, proof, Buffer.from(local.root, 'base64'), rootHash)) {
          throw refuse(`the checkpoint of size ${size} carries this witness's cosignature but does not extend the size ${local.size} in its state file (a fork)`);
        }
      }
      return {
        v: 1, logKey: formatVerifierKey(logKey), witnessKey: formatVerifierKey(mine), size, root: Buffer.from(rootHash).toString('base64'), note: cp.note,
        cosignedAt: isoUtc((cosig.timestamp ?? 0) * 1000),
      };
    }
    if (page.length < PAGE) return local;
    before = page[page.length - 1]!.size;
  }
}

/**
 * Creates the job. `start()` loads the key and co-signs on a timer; `runOnce()` is one run (tests, and the timer).
 * Runs are serialized in the process; across replicas the lease keeps one runner, and a second runner during a
 * failover is harmless: the conditional update of the note lets one cosignature in, the other run retries.
 * @see c2sp.org/tlog-witness
 */
export function createWitnessJob(config: WitnessJobConfig, deps: WitnessJobDeps) {
  const stateFile = witnessStatePath(config.keyFile);
  const stats: WitnessJobStats = { cosigned: 0, refusals: 0, refusing: false, size: undefined };
  let key: SignerKey | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let lastRefusal: string | undefined;
  const log: WitnessedLog = {
    latest: () => latestCheckpoint(deps.db),
    consistencyProof: async (a, b) => (await deps.log.consistencyProof(a, b)).proof,
    storeCosigned: (size, previous, next) => replaceCheckpointNote(deps.db, size, previous, next),
  };

  async function witnessOnce(): Promise<WitnessOutcome> {
    if (key === undefined) {
      assertWitnessKey(config.keyFile, config.name);
      key = loadSignerKey(config.keyFile, config.name, SIG_COSIGNATURE_V1);
    }
    const logKey = deps.logKey();
    const local = readWitnessState(stateFile);
    // A changed log key is refused by witnessCheckpoint against the state file as it is.
    const from = local !== undefined && local.logKey !== formatVerifierKey(logKey) ? local : await continueFrom(deps, key, logKey, local);
    const out = await witnessCheckpoint({ key, logKey, state: from, log, nowMs: deps.clock.nowMs() });
    // The state file only moves forward: to this run's cosignature, or to a newer one found in the store.
    if (local === undefined || out.state.size > local.size) writePrivateFile(stateFile, `${JSON.stringify(out.state, null, 2)}\n`);
    return out;
  }

  /** One run; never throws (the timer must not crash the process): a refusal is logged as an error and counted. */
  function runOnce(): Promise<WitnessOutcome | undefined> {
    const run = chain.then(async () => {
      try {
        const out = await witnessOnce();
        stats.refusing = false;
        lastRefusal = undefined;
        stats.size = out.size;
        if (out.outcome === 'cosigned') {
          stats.cosigned++;
          deps.logger?.info({ size: out.size }, 'audit witness: co-signed the latest checkpoint');
          deps.onCosigned?.(out.size);
        }
        return out;
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code === 'NOT_FOUND') return undefined; // no checkpoint yet
        if (code === 'CONFLICT') {
          deps.logger?.warn({ err: (e as Error).message }, 'audit witness: the checkpoint changed during the run; trying again next time');
          return undefined;
        }
        if (code === 'AUDIT_VERIFY_FAILED') {
          stats.refusals++;
          stats.refusing = true;
          // Logged at every change of the problem (not every run); the gauge stays 1 while it lasts.
          if ((e as Error).message !== lastRefusal) deps.logger?.error({ err: (e as Error).message, stateFile }, 'audit witness REFUSED to co-sign: the audit log may have been rewritten');
          lastRefusal = (e as Error).message;
          return undefined;
        }
        deps.logger?.error({ err: e }, 'audit witness: run failed');
        return undefined;
      }
    });
    chain = run;
    return run;
  }

  return {
    name: 'audit-witness',
    /** Loads the key (refusing a missing or readable one), runs once, then every `everySeconds`. */
    async start(): Promise<void> {
      assertWitnessKey(config.keyFile, config.name);
      key = loadSignerKey(config.keyFile, config.name, SIG_COSIGNATURE_V1);
      if (timer !== undefined) return;
      await runOnce();
      timer = setInterval(() => { void runOnce(); }, config.everySeconds * 1000);
      timer.unref();
    },
    /** Stops the timer and waits for a run in progress. */
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await chain;
    },
    runOnce,
    /** The witness's public key. */
    verifier(): VerifierKey {
      key ??= loadSignerKey(config.keyFile, config.name, SIG_COSIGNATURE_V1);
      return verifierOf(key);
    },
    stats: (): WitnessJobStats => ({ ...stats }),
  };
}

/** The witness job's interface. */
export type WitnessJob = ReturnType<typeof createWitnessJob>;
