/** @module Which stream sequences of one consumer were already handled, so a redelivery (its acknowledgement lost) is not handled twice. */

/**
 * Sequences handled by this process, forgotten once the consumer's acknowledgement floor passes them.
 * A set, not a high-water mark: after a reconnection the server sends new messages at once and the ones
 * whose acknowledgement was lost only after the ack wait, so a lower sequence may still be new.
 */
export class SeenSequences {
  private readonly seen = new Set<number>();

  has(seq: number): boolean { return this.seen.has(seq); }
  add(seq: number): void { this.seen.add(seq); }
  /** Forgets every sequence at or below the acknowledgement floor (the server will not send those again). */
  prune(floor: number): void { for (const s of this.seen) if (s <= floor) this.seen.delete(s); }
  get size(): number { return this.seen.size; }
}

/**
 * Message ids handled by this process, kept for `keepMs` after the message was stored: a second stored copy of
 * one publish (the stream lost its duplicate-window entry, e.g. after every server restarted) comes under a new
 * sequence but the same id, within the publisher's retries (minutes).
 */
export class SeenIds {
  private readonly seen = new Map<string, number>();
  private prunedAt = 0;

  constructor(private readonly keepMs: number) {}

  has(id: string | undefined): boolean { return id !== undefined && this.seen.has(id); }
  add(id: string | undefined, storedAtMs: number): void {
    if (id === undefined) return;
    this.seen.set(id, storedAtMs);
    if (storedAtMs - this.prunedAt < this.keepMs / 4) return;
    this.prunedAt = storedAtMs;
    for (const [k, at] of this.seen) if (at < storedAtMs - this.keepMs) this.seen.delete(k);
  }
  get size(): number { return this.seen.size; }
}
