/** @module The feed scheduler: a component with start/stop that pulls every due external TAXII feed on a timer. */
import { systemContext } from '#platform/context/index.js';
import type { SharingService } from './service.js';

/** A component that pulls due feeds every `tickMs` (never two pulls at once). @see STYLE.md "each component has start()/stop()" */
export function createFeedScheduler(config: { tickMs: number }, deps: { sharing: Pick<SharingService, 'pullDueFeeds'>; onError?: (e: unknown) => void }) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running !== undefined) return;
    running = deps.sharing.pullDueFeeds(systemContext('feed-scheduler')).catch((e: unknown) => deps.onError?.(e)).finally(() => { running = undefined; });
  };
  return {
    name: 'sharing-feeds',
    /** Starts the timer. */
    async start(): Promise<void> {
      if (timer === undefined) {
        timer = setInterval(tick, config.tickMs);
        timer.unref();
      }
    },
    /** Stops the timer and waits for a pull in progress. */
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
    /** Runs one tick now and waits for it (tests, `mamori feeds pull --due`). */
    async runOnce(): Promise<void> {
      tick();
      await running;
    },
  };
}

/** The feed scheduler's interface. */
export type FeedScheduler = ReturnType<typeof createFeedScheduler>;
