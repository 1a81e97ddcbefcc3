/** @module Time as a dependency: the system clock in production, a controllable clock in tests. */

/** A source of the current time; every deadline and timestamp is computed from one of these. */
export interface Clock {
  /** Milliseconds since the Unix epoch (UTC). */
  nowMs(): number;
}

/** The real clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock that moves only when told: for tests of deadlines, reminders and expiry. */
export class ManualClock implements Clock {
  private ms: number;
  constructor(start: number | string = '2026-04-01T00:00:00.000Z') {
    this.ms = typeof start === 'number' ? start : Date.parse(start);
  }
  nowMs(): number {
    return this.ms;
  }
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.ms += ms;
  }
  /** Sets the clock to an absolute time. */
  set(at: number | string): void {
    this.ms = typeof at === 'number' ? at : Date.parse(at);
  }
}

/** ISO 8601 UTC with milliseconds: the one text form of a time in storage and APIs. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

/** The current time of `clock` as ISO 8601 UTC. */
export function nowIso(clock: Clock): string {
  return isoUtc(clock.nowMs());
}
