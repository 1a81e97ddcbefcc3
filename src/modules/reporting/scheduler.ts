/** @module The reporting clock scheduler: runs the deadline sweep (reminders, overdue escalation) on an interval, with start/stop. */
import { systemContext } from '#platform/context/index.js';
import type { ReportingService } from './service.js';

/** A component that sweeps the reporting clocks every `everySeconds`. */
export interface ReportingScheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs one sweep now (also what the timer calls). */
  runOnce(): Promise<{ reminded: number; escalated: number }>;
}

/** Creates the scheduler; the times it compares come from the service's Clock, so tests drive it with ManualClock. @see 同法 Art. 5 para. 2 (written report within 30 days) */
export function createReportingScheduler(config: { everySeconds: number }, deps: { reporting: ReportingService; onError?: (e: unknown) => void }): ReportingScheduler {
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> | undefined;
  const runOnce = () => deps.reporting.sweep(systemContext('reporting-scheduler'));
  return {
    async start() {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        if (running !== undefined) return; // a slow sweep is never overlapped by the next
        running = runOnce().catch((e: unknown) => deps.onError?.(e)).finally(() => { running = undefined; });
      }, config.everySeconds * 1000);
      timer.unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
    runOnce,
  };
}
