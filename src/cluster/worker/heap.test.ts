/** @module The worker's heap setting: set at start, unless node was given one. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tuneWorkerHeap, WORKER_HEAP_GROWING_PERCENT } from './heap.js';

describe('tuneWorkerHeap', () => {
  it('sets the growing factor when node was started without one', () => {
    const set: string[] = [];
    expect(tuneWorkerHeap(['--conditions=source', '--import', 'tsx'], (f) => set.push(f))).toBe(true);
    expect(set).toEqual([`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`]);
  });

  it('leaves the one node was started with (V8\'s own choice with 0), in either spelling', () => {
    for (const given of ['--heap-growing-percent=0', '--heap_growing_percent=50']) {
      const set: string[] = [];
      expect(tuneWorkerHeap(['--conditions=source', given], (f) => set.push(f))).toBe(false);
      expect(set).toEqual([]);
    }
  });

  it('is a flag this node knows (setFlagsFromString ignores an unknown one: node refuses it at start, exit 9)', () => {
    const run = (flag: string): number | null => spawnSync(process.execPath, [flag, '-e', '0'], { stdio: 'ignore' }).status;
    expect(run(`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`)).toBe(0);
    expect(run(`--heap-growing-percentt=${WORKER_HEAP_GROWING_PERCENT}`)).not.toBe(0); // the check can fail
  });
});
