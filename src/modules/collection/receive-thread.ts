/** @module The collector's receive path: a thread (native recvmmsg, or a worker thread) that owns the UDP sockets and copies each datagram into a shared ring the main thread decodes from. */
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/*
 * Why a thread (bench/collector, part b): Node delivers one JavaScript callback per datagram, and on the main
 * thread every pause — a garbage collection, a sink that selects a batch, an HTTP request of `mamori serve` —
 * leaves the kernel's socket buffer to overflow while the process is mostly idle. This thread does nothing
 * but receive and copy, so it drains the kernel buffer promptly; the ring (tens of MiB, far more than
 * net.core.rmem_max usually allows) absorbs the main thread's pauses.
 *
 * Ring layout (single producer = this thread, single consumer = the main thread), all little-endian:
 *   control (64 bytes, Int32): [0] write offset, [1] read offset, [2] datagrams dropped on a full ring since
 *   the consumer last took the count, [3] 1 while the consumer sleeps in Atomics.waitAsync.
 *   data: records aligned to 4 bytes:
 *     u32 record length (WRAP = continue at offset 0), u32 datagram length, u16 source port,
 *     u8 source-address length (0 = same address as the previous record), u8 0, address (ASCII), datagram.
 * Offsets only grow until they wrap; write === read means empty, so the writer always leaves a gap of ≥ 4 bytes.
 *
 * Two producers write this ring alike: the native receiver (native/udp-recv: its own thread, recvmmsg of up to
 * 64 datagrams per system call, no JavaScript per datagram) and, when the addon is not built, the worker
 * thread below (one node:dgram callback per datagram).
 */
export const RING_CONTROL_BYTES = 64;
export const RING_WRITE = 0;
export const RING_READ = 1;
export const RING_DROPPED = 2;
export const RING_SLEEPING = 3;
export const RING_WRAP = 0xffffffff;
export const RING_RECORD_HEADER = 12;

// Runs in the worker (CommonJS, evaluated from this string so it loads the same from source, tests and dist).
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { sab, listeners, receiveBufferBytes } = workerData;
const ctl = new Int32Array(sab, 0, ${RING_CONTROL_BYTES / 4});
const data = new Uint8Array(sab, ${RING_CONTROL_BYTES});
const view = new DataView(sab, ${RING_CONTROL_BYTES});
const size = data.length;
let w = Atomics.load(ctl, ${RING_WRITE});
let prevAddr = '';
const sockets = [];

function put(msg, rinfo) {
  const addr = rinfo.address === prevAddr ? '' : rinfo.address;
  const len = (${RING_RECORD_HEADER} + addr.length + msg.length + 3) & ~3;
  const r = Atomics.load(ctl, ${RING_READ});
  let at = w;
  if (w >= r) {
    const tail = size - w;
    if (len < tail || (len === tail && r > 0)) at = w;
    else if (len < r) { view.setUint32(w, ${RING_WRAP}, true); at = 0; }
    else { Atomics.add(ctl, ${RING_DROPPED}, 1); return; }
  } else if (w + len >= r) { Atomics.add(ctl, ${RING_DROPPED}, 1); return; }
  view.setUint32(at, len, true);
  view.setUint32(at + 4, msg.length, true);
  view.setUint16(at + 8, rinfo.port, true);
  data[at + 10] = addr.length;
  data[at + 11] = 0;
  for (let i = 0; i < addr.length; i++) data[at + ${RING_RECORD_HEADER} + i] = addr.charCodeAt(i);
  data.set(msg, at + ${RING_RECORD_HEADER} + addr.length);
  w = at + len === size ? 0 : at + len;
  Atomics.store(ctl, ${RING_WRITE}, w);
  if (addr !== '') prevAddr = addr;
  if (Atomics.load(ctl, ${RING_SLEEPING}) === 1) { Atomics.store(ctl, ${RING_SLEEPING}, 0); Atomics.notify(ctl, ${RING_SLEEPING}); }
}

function bindOne(l) {
  return new Promise((resolve, reject) => {
    const family = l.host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type: family, reuseAddr: false, recvBufferSize: receiveBufferBytes });
    socket.on('message', put);
    const onError = (e) => { socket.close(); reject(e); };
    socket.once('error', onError);
    socket.bind({ address: l.host, port: l.port, exclusive: true }, () => {
      socket.off('error', onError);
      socket.on('error', (e) => parentPort.postMessage({ type: 'socketError', message: String(e && e.message), code: e && e.code }));
      sockets.push(socket);
      const a = socket.address();
      resolve({ address: a.address, port: a.port, family: family === 'udp6' ? 'IPv6' : 'IPv4', receiveBufferBytes: socket.getRecvBufferSize() });
    });
  });
}

async function start() {
  const bound = [];
  for (let i = 0; i < listeners.length; i++) {
    try {
      bound.push(await bindOne(listeners[i]));
    } catch (e) {
      await closeAll();
      parentPort.postMessage({ type: 'bindError', index: i, code: e && e.code, message: String(e && e.message) });
      return;
    }
  }
  parentPort.postMessage({ type: 'bound', listeners: bound });
}

function closeAll() {
  return Promise.all(sockets.splice(0).map((s) => new Promise((resolve) => s.close(() => resolve()))));
}

parentPort.on('message', (m) => {
  // Every datagram received before the sockets closed is in the ring (put is synchronous) when 'closed' goes out.
  if (m && m.type === 'stop') closeAll().then(() => parentPort.postMessage({ type: 'closed' }));
});
start();
`;

/** A listener as the receive thread bound it. */
export interface ReceiveThreadListener {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
  receiveBufferBytes: number;
}

/** Messages from the receive thread. */
export type ReceiveThreadMessage =
  | { type: 'bound'; listeners: ReceiveThreadListener[] }
  | { type: 'bindError'; index: number; code: string | undefined; message: string }
  | { type: 'socketError'; code: string | undefined; message: string }
  | { type: 'closed' };

/** Which receiver takes the datagrams: `native` (recvmmsg addon), `js` (worker thread) or `auto` (native when its addon loads). */
export type ReceiverKind = 'auto' | 'native' | 'js';

/** A running receiver: it writes into `sab` (the ring) until `stop`, after which every datagram it took is in the ring. */
export interface Receiver {
  readonly kind: 'native' | 'js';
  readonly sab: SharedArrayBuffer;
  readonly listeners: ReceiveThreadListener[];
  stop(): Promise<void>;
}

/** A listener could not be bound: `index` into the listeners, `code` as errno names it (EADDRINUSE…). */
export class ReceiverBindError extends Error {
  constructor(readonly index: number, readonly code: string | undefined, message: string) {
    super(message);
  }
}

/** What the receiver tells the collector about while it runs. */
export interface ReceiverEvents {
  socketError(code: string | undefined, message: string): void;
  /** The native receiver could not be loaded and `auto` fell back to the worker thread (said once per process). */
  fallback?(reason: string): void;
}

interface NativeReceiverHandle {
  stop(): void;
  listeners(): ReceiveThreadListener[];
}
interface NativeAddon {
  open(ring: Int32Array, listeners: { host: string; port: number }[], receiveBufferBytes: number, onEvent: (kind: number, code: string | undefined) => void): NativeReceiverHandle;
}

const ADDON_FILE = 'native/udp-recv/build/Release/udp_recv.node';
const loaded = new Map<string, NativeAddon | Error>();
let fallbackSaid = false;

// The build output of `npm run build:native`, beside src/ or dist/src/.
function defaultAddonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromSource = join(here, '../../..', ADDON_FILE);
  const fromDist = join(here, '../../../..', ADDON_FILE);
  return existsSync(fromSource) || !existsSync(fromDist) ? fromSource : fromDist;
}

/** Loads the native receiver addon (once per path; default: the build output of `npm run build:native`); an Error says why it is not available. */
export function loadNativeReceiver(path = defaultAddonPath()): NativeAddon | Error {
  let addon = loaded.get(path);
  if (addon === undefined) {
    try {
      const m = createRequire(import.meta.url)(path) as Partial<NativeAddon>;
      addon = typeof m.open === 'function' ? (m as NativeAddon) : new Error(`${path} is not mamori's UDP receiver addon`);
    } catch (e) {
      addon = new Error(`cannot load ${path} (build it with npm run build:native): ${(e as Error).message.split('\n')[0]}`);
    }
    loaded.set(path, addon);
  }
  return addon;
}

function newRing(ringBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(RING_CONTROL_BYTES + Math.max(256 * 1024, Math.floor(ringBytes / 4) * 4));
}

/**
 * Starts a receiver of `kind` on a new ring of `ringBytes` (rounded down to a multiple of 4, at least 256 KiB)
 * bound to `listeners`. `native` fails when the addon cannot be loaded; `auto` then uses the worker thread.
 * @throws ReceiverBindError when a listener cannot be bound; Error when the receiver cannot start.
 */
export async function startReceiver(kind: ReceiverKind, ringBytes: number, listeners: readonly { host: string; port: number }[], receiveBufferBytes: number, events: ReceiverEvents, addonPath?: string): Promise<Receiver> {
  if (kind !== 'js') {
    const addon = loadNativeReceiver(addonPath);
    if (!(addon instanceof Error)) return startNative(addon, ringBytes, listeners, receiveBufferBytes, events);
    if (kind === 'native') throw new Error(`collector.receiver is native but the native UDP receiver is not available: ${addon.message}`);
    if (!fallbackSaid) {
      fallbackSaid = true;
      events.fallback?.(addon.message);
    }
  }
  return startJs(ringBytes, listeners, receiveBufferBytes, events);
}

async function startNative(addon: NativeAddon, ringBytes: number, listeners: readonly { host: string; port: number }[], receiveBufferBytes: number, events: ReceiverEvents): Promise<Receiver> {
  // The addon binds numeric addresses only: names resolve here, as node:dgram would resolve them.
  const numeric: { host: string; port: number }[] = [];
  for (let i = 0; i < listeners.length; i++) {
    const l = listeners[i]!;
    if (isIP(l.host) !== 0) { numeric.push({ host: l.host, port: l.port }); continue; }
    try {
      numeric.push({ host: (await lookup(l.host, { family: l.host.includes(':') ? 6 : 4 })).address, port: l.port });
    } catch (e) {
      throw new ReceiverBindError(i, (e as NodeJS.ErrnoException).code, (e as Error).message);
    }
  }
  const sab = newRing(ringBytes);
  const ctl = new Int32Array(sab);
  let handle: NativeReceiverHandle;
  try {
    handle = addon.open(ctl, numeric, receiveBufferBytes, (what, code) => {
      if (what === 0) Atomics.notify(ctl, RING_SLEEPING);
      else events.socketError(code, `receive failed: ${code ?? 'unknown error'}`);
    });
  } catch (e) {
    const err = e as Error & { code?: string; index?: number };
    throw new ReceiverBindError(err.index ?? 0, err.code, err.message);
  }
  const bound = handle.listeners();
  let stopped = false;
  return {
    kind: 'native',
    sab,
    listeners: bound,
    stop: () => {
      if (!stopped) { stopped = true; handle.stop(); }
      return Promise.resolve();
    },
  };
}

async function startJs(ringBytes: number, listeners: readonly { host: string; port: number }[], receiveBufferBytes: number, events: ReceiverEvents): Promise<Receiver> {
  const sab = newRing(ringBytes);
  // No execArgv: the thread needs no loader (tsx) and no inspector flags of the parent.
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab, listeners: listeners.map((l) => ({ host: l.host, port: l.port })), receiveBufferBytes }, execArgv: [] });
  let onError: (e: Error) => void = () => undefined;
  let onExit: (code: number) => void = () => undefined;
  const first = await new Promise<ReceiveThreadMessage>((resolve, reject) => {
    onError = reject;
    onExit = (code) => reject(new Error(`receive thread exited with ${code}`));
    w.once('message', resolve);
    w.once('error', onError);
    w.once('exit', onExit);
  }).finally(() => {
    // Only ours: removeAllListeners would also drop the hooks by which Node keeps the thread's port referenced.
    w.off('error', onError);
    w.off('exit', onExit);
  }).catch(async (e: unknown) => {
    await w.terminate();
    throw e;
  });
  if (first.type !== 'bound') {
    await w.terminate();
    if (first.type === 'bindError') throw new ReceiverBindError(first.index, first.code, first.message);
    throw new Error(`receive thread said ${first.type} before binding`);
  }
  let closed: (() => void) | undefined;
  w.on('message', (m: ReceiveThreadMessage) => {
    if (m.type === 'socketError') events.socketError(m.code, m.message);
    else if (m.type === 'closed') closed?.();
  });
  w.on('error', (e) => events.socketError(undefined, `receive thread failed: ${e.message}`));
  let stopping: Promise<void> | undefined;
  return {
    kind: 'js',
    sab,
    listeners: first.listeners,
    stop: () => {
      // The thread closes its sockets and says so; by then every datagram it received is in the ring.
      stopping ??= new Promise<void>((resolve) => {
        closed = resolve;
        w.once('exit', () => resolve());
        w.postMessage({ type: 'stop' });
      }).then(async () => { closed = undefined; await w.terminate(); });
      return stopping;
    },
  };
}
