/** @module The collector's receive thread: a worker thread that owns the UDP sockets and copies each datagram into a shared ring the main thread decodes from. */
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

/** Starts the receive thread on a ring of `ringBytes` (rounded down to a multiple of 4, at least 256 KiB). */
export function startReceiveThread(ringBytes: number, listeners: readonly { host: string; port: number }[], receiveBufferBytes: number): { worker: Worker; sab: SharedArrayBuffer } {
  const dataBytes = Math.max(256 * 1024, Math.floor(ringBytes / 4) * 4);
  const sab = new SharedArrayBuffer(RING_CONTROL_BYTES + dataBytes);
  // No execArgv: the thread needs no loader (tsx) and no inspector flags of the parent.
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab, listeners: listeners.map((l) => ({ host: l.host, port: l.port })), receiveBufferBytes }, execArgv: [] });
  return { worker, sab };
}
