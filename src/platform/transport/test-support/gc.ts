/** @module A full garbage collection on demand and deliveries with bytes of their own, for tests that check what a consumer lets go of. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Transport } from '../types.js';

let gc: (() => void) | undefined;

/** Runs V8's full collection (twice: a weak reference's target may need one to be found unreachable, one to go). */
export async function collectGarbage(): Promise<void> {
  if (gc === undefined) {
    // The flag exposes `gc` to contexts made after it: a new one, not this process's global (vitest's worker started without it).
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  // Weak references are cleared only after the current job: a turn of the event loop between collections.
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

/** `t` with each delivery carrying bytes of its own (as JetStream's do; the in-process stream keeps the original), weakly watched. */
export function ownBytes(t: Transport): { transport: Transport; buffers: WeakRef<ArrayBufferLike>[] } {
  const buffers: WeakRef<ArrayBufferLike>[] = [];
  const transport: Transport = {
    ...t,
    consume: (stream, opts, handler) => t.consume(stream, opts, (d) => {
      const data = d.data.slice();
      buffers.push(new WeakRef(data.buffer));
      return handler({ ...d, data });
    }),
  };
  return { transport, buffers };
}
