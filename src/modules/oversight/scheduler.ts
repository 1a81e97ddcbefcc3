/** @module The oversight scheduler: on a timer, expires approvals and enforces emergency review deadlines (the service reads time from the Clock). */
import { systemContext } from '#platform/context/index.js';
import type { OversightService, SweepResult } from './service.js';

/** How often the scheduler sweeps. */
export interface OversightSchedulerConfig {
  everySeconds: number;
}

/** What the scheduler needs. */
export interface OversightSchedulerDeps {
  oversight: Pick<OversightService, 'sweep'>;
  /** Where a failed sweep is reported (the timer must not crash the process). */
  onError?: (e: unknown) => void;
}

/** Creates the scheduler; `tick()` sweeps once (tests drive it with a ManualClock). @see DPA Art. 17, 22, 26 ff. */
export function createOversightScheduler(config: OversightSchedulerConfig, deps: OversightSchedulerDeps) {
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<SweepResult | undefined> = Promise.resolve(undefined);

  function tick(): Promise<SweepResult | undefined> {
    // One sweep at a time: a slow purge must not overlap the next tick.
    running = running.then(() => deps.oversight.sweep(systemContext('oversight-scheduler')), () => deps.oversight.sweep(systemContext('oversight-scheduler')));
    return running;
  }

  return {
    tick,
    /** Sweeps once now, then every `everySeconds`. */
    async start(): Promise<void> {
      if (timer !== undefined) return;
      await tick().catch((e: unknown) => deps.onError?.(e));
      timer = setInterval(() => {
        tick().catch((e: unknown) => deps.onError?.(e));
      }, config.everySeconds * 1000);
      timer.unref();
    },
    /** Stops the timer and waits for a sweep in progress. */
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running.catch(() => undefined);
    },
  };
}

/** The scheduler's interface. */
export type OversightScheduler = ReturnType<typeof createOversightScheduler>;
