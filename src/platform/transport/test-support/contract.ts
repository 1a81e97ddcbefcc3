/** @module The transport contract: one suite that the in-process and the JetStream transports both pass. */
import { describe, expect, it } from 'vitest';
import type { Delivery, DeliveryAck, StreamSpec, Transport } from '../types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the contract against a transport made by `make` (a fresh stream name per test keeps them apart). */
export function transportContract(label: string, make: () => Transport, replicas: number): void {
  let n = 0;
  const spec = (): StreamSpec => {
    n++;
    return { name: `T${n}_${Date.now() % 100000}`, subjects: [`t${n}x${Date.now() % 100000}.>`], replicas, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 };
  };

  describe(`transport contract: ${label}`, () => {
    it('stores a message once per message id and says so on a repeat', async () => {
      const t = make();
      const s = spec();
      await t.ensureStream(s);
      const subj = s.subjects[0]!.replace('>', 'p.0');
      const a = await t.publish(subj, enc('one'), { msgId: 'm1' });
      const b = await t.publish(subj, enc('one again'), { msgId: 'm1' });
      const c = await t.publish(subj, enc('two'), { msgId: 'm2' });
      expect(a.duplicate).toBe(false);
      expect(b).toEqual({ seq: a.seq, duplicate: true });
      expect(c.seq).toBe(a.seq + 1);
      expect(await t.streamMessages(s.name)).toBe(2);
    });

    it('delivers only the filter subject, in order, and a durable consumer resumes after its last ack', async () => {
      const t = make();
      const s = spec();
      await t.ensureStream(s);
      const p0 = s.subjects[0]!.replace('>', 'p.0');
      const p1 = s.subjects[0]!.replace('>', 'p.1');
      for (let i = 0; i < 6; i++) await t.publish(i % 2 === 0 ? p0 : p1, enc(`m${i}`), { msgId: `id${i}` });
      const got: string[] = [];
      const pending: number[] = [];
      const c1 = await t.consume(s.name, { durable: 'w0', filterSubject: p0, ackWaitMs: 1000 }, async (d) => {
        got.push(dec(d.data));
        pending.push(d.pending);
        if (got.length <= 2) d.ack(); // the third stays unacknowledged
      });
      await until(() => got.length >= 3);
      await c1.stop();
      expect(got.slice(0, 3)).toEqual(['m0', 'm2', 'm4']);
      // What of the filter subject is stored and not yet delivered (the other subject's messages do not count).
      expect(pending.slice(0, 3)).toEqual([2, 1, 0]);
      const again: string[] = [];
      const c2 = await t.consume(s.name, { durable: 'w0', filterSubject: p0, ackWaitMs: 500 }, async (d) => { again.push(dec(d.data)); d.ack(); });
      await until(() => again.length >= 1);
      await c2.stop();
      expect(again[0]).toBe('m4');
    });

    it('delivers again what a handler naked or threw on', async () => {
      const t = make();
      const s = spec();
      await t.ensureStream(s);
      const p = s.subjects[0]!.replace('>', 'p.0');
      await t.publish(p, enc('x'), { msgId: 'x' });
      const seen: Delivery[] = [];
      const c = await t.consume(s.name, { durable: 'w', filterSubject: p, ackWaitMs: 2000 }, async (d) => {
        seen.push(d);
        if (seen.length === 1) { d.nak(); return; }
        if (seen.length === 2) throw new Error('handler failed');
        d.ack();
      });
      await until(() => seen.length >= 3);
      await c.stop();
      expect(seen.map((d) => d.seq)).toEqual([seen[0]!.seq, seen[0]!.seq, seen[0]!.seq]);
      expect(seen[2]!.deliveryCount).toBe(3);
    });

    it('settles a delivery through its ack handle after the handler returned; a delivery is settled by its first ack or nak', async () => {
      const t = make();
      const s = spec();
      await t.ensureStream(s);
      const p = s.subjects[0]!.replace('>', 'p.0');
      for (const v of ['a', 'b', 'c']) await t.publish(p, enc(v), { msgId: v });
      const seen: string[] = [];
      const later = new Map<string, DeliveryAck>();
      const c = await t.consume(s.name, { durable: 'h', filterSubject: p, ackWaitMs: 30_000 }, async (d) => {
        const v = dec(d.data);
        seen.push(`${v}${d.deliveryCount}`);
        if (d.deliveryCount > 1) { d.ack(); return; }
        if (v === 'c') { d.nak(); d.ackHandle.ack(); return; } // naked: the handle's ack after it does nothing
        later.set(v, d.ackHandle);
      });
      await until(() => later.size === 2 && seen.includes('c2'));
      later.get('a')!.ack();
      later.get('b')!.nak();
      await until(() => seen.includes('b2'));
      await until(async () => (await c.unfinished()) === 0);
      await c.stop();
      expect(seen.sort()).toEqual(['a1', 'b1', 'b2', 'c1', 'c2']);
    });

    it('an ephemeral consumer from a time replays what was stored since then', async () => {
      const t = make();
      const s = spec();
      await t.ensureStream(s);
      const p = s.subjects[0]!.replace('>', 'p.0');
      await t.publish(p, enc('old'), { msgId: 'old' });
      await new Promise((r) => setTimeout(r, 50));
      const at = Date.now();
      await new Promise((r) => setTimeout(r, 50));
      await t.publish(p, enc('new'), { msgId: 'new' });
      const got: string[] = [];
      const c = await t.consume(s.name, { filterSubject: p, deliverFrom: { kind: 'time', atMs: at } }, async (d) => { got.push(dec(d.data)); d.ack(); });
      await until(() => got.length >= 1);
      await c.stop();
      expect(got).toEqual(['new']);
    });

    it('refuses a subject no stream captures', async () => {
      const t = make();
      await expect(t.publish(`nowhere${Date.now()}.x`, enc('x'), { msgId: 'z', timeoutMs: 1000 })).rejects.toThrow();
    });
  });
}
