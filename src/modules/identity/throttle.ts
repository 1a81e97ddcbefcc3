/** @module Sign-in throttling that slows guessing without letting anyone lock a user out: exponential backoff per account, per client address. */
import type { Clock } from '#platform/clock/index.js';

/** How sign-in attempts are slowed. */
export interface ThrottleSettings {
  /** Failures an account (or a known client of it) may make before each further attempt must wait. */
  freeFailures: number;
  /** The longest wait between attempts once backoff has started. */
  backoffMaxMs: number;
  /** Failed attempts one client address may make in a minute, over all usernames. */
  addressFailuresPerMinute: number;
  /** Most keys remembered per table (oldest forgotten first), so a flood of names cannot exhaust memory. */
  maxEntries?: number;
}

/** Which limit refused an attempt. */
export type ThrottleScope = 'account' | 'address';

/** The verdict before a password is checked. */
export type ThrottleVerdict = { allowed: true; knownClient: boolean } | { allowed: false; scope: ThrottleScope; retryAfterMs: number };

/** An account's (or a known client's) run of failures. */
export interface Backoff { failures: number; lastFailureMs: number }
/** An address's failures in the current minute. */
export interface Window { startMs: number; failures: number }

const BASE_DELAY_MS = 1000;
/** The address limit's window. */
export const WINDOW_MS = 60_000;
/** A client address that signed an account in successfully is remembered for this long. */
export const KNOWN_CLIENT_MS = 30 * 86_400_000;

/** The rules both throttles (in memory, shared in the database) apply. */
export function throttleRules(settings: ThrottleSettings) {
  // A quiet account starts afresh: twice the longest wait, but at least a quarter of an hour.
  const forgetAfterMs = Math.max(2 * settings.backoffMaxMs, 15 * 60_000);
  const delayAfter = (failures: number): number => {
    const over = failures - settings.freeFailures;
    return over < 0 ? 0 : Math.min(settings.backoffMaxMs, BASE_DELAY_MS * 2 ** Math.min(over, 40));
  };
  return {
    forgetAfterMs,
    /** The verdict from what is remembered of the address (absent for a known client) and of the backoff key. */
    verdict(now: number, knownClient: boolean, w: Window | undefined, b: Backoff | undefined): ThrottleVerdict {
      // A known client is exempt from its address's limit: strangers failing behind the same NAT must not keep it out.
      if (!knownClient && w !== undefined && now - w.startMs < WINDOW_MS && w.failures >= settings.addressFailuresPerMinute) {
        return { allowed: false, scope: 'address', retryAfterMs: w.startMs + WINDOW_MS - now };
      }
      if (b !== undefined && now - b.lastFailureMs < forgetAfterMs) {
        const wait = b.lastFailureMs + delayAfter(b.failures) - now;
        if (wait > 0) return { allowed: false, scope: 'account', retryAfterMs: wait };
      }
      return { allowed: true, knownClient };
    },
  };
}

/** The key of the backoff an attempt counts against: the account's shared one, or a known client's own. */
export const backoffKey = (account: string, address: string, knownClient: boolean): string => (knownClient ? `${account}\n${address}` : account);

/** A bounded map: the oldest key goes first when full (insertion order; a touched key moves to the end). */
class BoundedMap<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined { return this.m.get(k); }
  set(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as string);
  }
  delete(k: string): void { this.m.delete(k); }
}

/**
 * Creates the throttle. Failures of an account from clients it has never signed in from share one backoff
 * (an attacker anywhere slows only other strangers); a client address that has signed the account in before
 * keeps its own backoff, so an attacker cannot keep the owner out. The wait doubles with each failure past
 * `freeFailures`, up to `backoffMaxMs`; it never becomes a lock.
 * @see OWASP Authentication Cheat Sheet, "Account lockout" and "Login throttling"
 */
export function createLoginThrottle(settings: ThrottleSettings, clock: Clock) {
  const max = settings.maxEntries ?? 100_000;
  const accounts = new BoundedMap<Backoff>(max);
  const addresses = new BoundedMap<Window>(max);
  const known = new BoundedMap<number>(max);
  const rules = throttleRules(settings);
  const { forgetAfterMs } = rules;
  const isKnown = (account: string, address: string, now: number): boolean => {
    const until = known.get(`${account}\n${address}`);
    return until !== undefined && until > now;
  };

  const check = (account: string, address: string): ThrottleVerdict => {
    const now = clock.nowMs();
    const knownClient = isKnown(account, address, now);
    return rules.verdict(now, knownClient, addresses.get(address), accounts.get(backoffKey(account, address, knownClient)));
  };

  /** Records a failed attempt (a wrong password, an unknown or a disabled user alike). */
  const fail = (account: string, address: string, knownClient: boolean): void => {
    const now = clock.nowMs();
    const w = addresses.get(address);
    addresses.set(address, w === undefined || now - w.startMs >= WINDOW_MS ? { startMs: now, failures: 1 } : { startMs: w.startMs, failures: w.failures + 1 });
    const key = backoffKey(account, address, knownClient);
    const b = accounts.get(key);
    accounts.set(key, { failures: b === undefined || now - b.lastFailureMs >= forgetAfterMs ? 1 : b.failures + 1, lastFailureMs: now });
  };

  return {
    /** Whether an attempt for `account` from `address` may be checked now (nothing is recorded). */
    check,

    /** `check`, and an allowed attempt counted as a failure at once (see LoginThrottle.attempt). */
    attempt(account: string, address: string): ThrottleVerdict {
      const v = check(account, address);
      if (v.allowed) fail(account, address, v.knownClient);
      return v;
    },

    fail,

    /** Takes back an attempt counted as it began that ended in neither a failure nor a success (an error on the way). */
    release(account: string, address: string, knownClient: boolean): void {
      const w = addresses.get(address);
      if (w !== undefined && w.failures > 0) addresses.set(address, { startMs: w.startMs, failures: w.failures - 1 });
      const key = backoffKey(account, address, knownClient);
      const b = accounts.get(key);
      if (b !== undefined) { if (b.failures > 1) accounts.set(key, { failures: b.failures - 1, lastFailureMs: b.lastFailureMs }); else accounts.delete(key); }
    },

    /** Records a success: the client becomes known to the account, its own backoff ends, and the attempt no longer counts against its address. */
    succeed(account: string, address: string, knownClient: boolean): void {
      accounts.delete(backoffKey(account, address, knownClient));
      known.set(`${account}\n${address}`, clock.nowMs() + KNOWN_CLIENT_MS);
      const w = addresses.get(address);
      if (w !== undefined && w.failures > 0) addresses.set(address, { startMs: w.startMs, failures: w.failures - 1 });
    },
  };
}

/** A sign-in throttle: in memory (one process), or shared by API replicas in the database (async). */
export interface LoginThrottle {
  /** Whether an attempt may be checked now; nothing is recorded. */
  check(account: string, address: string): ThrottleVerdict | Promise<ThrottleVerdict>;
  /**
   * `check`, and when allowed the attempt is counted as a failure at once, in one step: attempts sent together (a password
   * check takes tens of milliseconds) cannot all pass before the first failure is recorded. A success undoes it (`succeed`).
   */
  attempt(account: string, address: string): ThrottleVerdict | Promise<ThrottleVerdict>;
  fail(account: string, address: string, knownClient: boolean): void | Promise<void>;
  /** Takes back an attempt that ended in an error (neither a failure nor a success). */
  release(account: string, address: string, knownClient: boolean): void | Promise<void>;
  succeed(account: string, address: string, knownClient: boolean): void | Promise<void>;
}
