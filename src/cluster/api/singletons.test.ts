import { describe, expect, it } from 'vitest';
import type { LeaderLease } from './lease.js';
import { createSingletonGroup, type SingletonJob } from './singletons.js';

/** An advisory lock in memory: one holder; a session that ends (or is cut) frees it. */
function lockServer() {
  let holder: object | undefined;
  const sessions = new Set<{ cut: boolean }>();
  return {
    holder: () => holder,
    open(): LeaderLease & { session: { cut: boolean } } {
      const session = { cut: false };
      sessions.add(session);
      return {
        session,
        async tryAcquire() {
          if (session.cut) throw new Error('connection lost');
          if (holder === undefined) holder = session;
          return holder === session;
        },
        async stillHeld() { return !session.cut && holder === session; },
        async close() { if (holder === session) holder = undefined; sessions.delete(session); },
      };
    },
    /** The server ends a session (its process died, or its network went). */
    end(session: { cut: boolean }) {
      session.cut = true;
      if (holder === session) holder = undefined;
    },
  };
}

function job(name: string, log: string[]): SingletonJob {
  return { name, start: async () => { log.push(`start ${name}`); }, stop: async () => { log.push(`stop ${name}`); } };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('singleton group', () => {
  it('runs the jobs on one replica only, moves them when the holder\'s session ends, and stops them on a replica cut off', async () => {
    const server = lockServer();
    const logs: string[][] = [[], []];
    const leases: ReturnType<typeof server.open>[] = [];
    const groups = [0, 1].map((i) => createSingletonGroup({
      openLease: async () => { const l = server.open(); leases[i] = l; return l; },
      jobs: [job('checkpointer', logs[i]!), job('reminders', logs[i]!)],
      checkMs: 20,
    }));
    await groups[0]!.start();
    await groups[1]!.start();
    expect(groups.map((g) => g.leader())).toEqual([true, false]);
    expect(logs[0]).toEqual(['start checkpointer', 'start reminders']);
    await wait(100);
    expect(logs[1]).toEqual([]);

    // The leader is cut off from the database: it stops its jobs, the other takes over.
    server.end(leases[0]!.session);
    await wait(150);
    expect(logs[0]).toEqual(['start checkpointer', 'start reminders', 'stop reminders', 'stop checkpointer']);
    expect(logs[1]).toEqual(['start checkpointer', 'start reminders']);
    expect(groups.map((g) => g.leader())).toEqual([false, true]);

    // A graceful stop of the leader hands over too; the first replica competes again on a new session.
    await groups[1]!.stop();
    await wait(150);
    expect(groups[0]!.leader()).toBe(true);
    expect(groups[0]!.terms()).toBe(2);
    await groups[0]!.stop();
    expect(server.holder()).toBeUndefined();
  });

  it('gives the lease up when a job cannot start, so that another replica runs all of them', async () => {
    const server = lockServer();
    const log: string[] = [];
    const g = createSingletonGroup({
      openLease: async () => server.open(),
      jobs: [job('a', log), { name: 'b', start: async () => { throw new Error('no key'); }, stop: async () => undefined }],
      checkMs: 1000,
    });
    await g.start();
    expect(g.leader()).toBe(false);
    expect(log).toEqual(['start a', 'stop a']);
    expect(server.holder()).toBeUndefined();
    await g.stop();
  });
});
