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
