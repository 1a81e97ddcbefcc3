/** @module The singletons of API replicas: the periodic jobs that must run once cluster-wide start on the lease holder and stop when it loses the lease. */
import type { LeaderLease } from './lease.js';

/** A job with a start and a stop (the server's components). */
export interface SingletonJob {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What the group needs. */
export interface SingletonGroupDeps {
  /** Opens a new lease session (again after one was lost). */
  openLease(): Promise<LeaderLease>;
  jobs: readonly SingletonJob[];
  /** How often a standby tries to take the lease and the leader checks it still holds it. */
  checkMs: number;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } | undefined;
}

/** The group as a server component, with its state for metrics and tests. */
export interface SingletonGroup extends SingletonJob {
  /** Whether this replica runs the singletons now. */
  leader(): boolean;
  /** Times this replica became the leader since start. */
  terms(): number;
}

/**
 * Creates the group. A standby tries the lease every `checkMs`; once it holds it, it starts the jobs in order.
 * The leader asks every `checkMs` whether it still holds the lease and stops the jobs at once when not (its
 * session ended or PostgreSQL is unreachable), then competes again on a new session. A dead leader's lease
 * is free as soon as PostgreSQL ends its session, so another replica takes over within `checkMs` of that.
 * Jobs must tolerate a second runner for the moment a cut-off leader needs to notice: each claims its work in
 * the database (reminders by a conditional update, checkpoints by their size as primary key).
 */
export function createSingletonGroup(deps: SingletonGroupDeps): SingletonGroup {
  let lease: LeaderLease | undefined;
  const running: SingletonJob[] = [];
  let isLeader = false;
  let terms = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let stopping = false;
  let chain: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => (chain = chain.then(fn, fn).catch((e: unknown) => deps.logger?.error({ err: e }, 'singletons: lease step failed')));

  async function stopJobs(): Promise<void> {
    for (const j of running.splice(0).reverse()) await j.stop().catch((e: unknown) => deps.logger?.error({ err: e, job: j.name }, 'singletons: stop failed'));
    isLeader = false;
  }

  async function dropLease(): Promise<void> {
    const l = lease;
    lease = undefined;
    await l?.close();
  }

  async function step(): Promise<void> {
    if (stopping) return;
    if (isLeader) {
      if (lease !== undefined && (await lease.stillHeld())) return;
      deps.logger?.warn({}, 'singletons: lease lost; stopping the singleton jobs here');
      await stopJobs();
      await dropLease();
      return;
    }
    try {
      lease ??= await deps.openLease();
    } catch (e) {
      deps.logger?.warn({ err: (e as Error).message }, 'singletons: cannot open the lease session; retrying');
      return;
    }
    let got: boolean;
    try {
      got = await lease.tryAcquire();
    } catch {
      await dropLease();
      return;
    }
    if (!got || stopping) return;
    isLeader = true;
    terms++;
    deps.logger?.info({ jobs: deps.jobs.map((j) => j.name) }, 'singletons: this replica holds the lease; starting the singleton jobs');
    for (const j of deps.jobs) {
      try {
        await j.start();
        running.push(j);
      } catch (e) {
        // A job that cannot start leaves the lease to another replica rather than running half the singletons.
        deps.logger?.error({ err: e, job: j.name }, 'singletons: a job failed to start; giving the lease up');
        await stopJobs();
        await dropLease();
        return;
      }
    }
  }

  return {
    name: 'singletons',
    async start() {
      stopping = false;
      await serial(step);
      timer = setInterval(() => { void serial(step); }, deps.checkMs);
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await serial(async () => {
        await stopJobs();
        await dropLease();
      });
    },
    leader: () => isLeader,
    terms: () => terms,
  };
}
