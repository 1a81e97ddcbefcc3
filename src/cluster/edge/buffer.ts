/** @module The edge's bounded outbox: encoded batches waiting for the broker, in memory and then an optional disk spool, oldest first. */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, chmodSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** One encoded batch waiting to be published. */
export interface Outgoing {
  msgId: string;
  subject: string;
  data: Uint8Array;
  /** Kept flows it carries that count as the edge's flows (the `d` family: each kept flow once). */
  flows: number;
}

/** Where waiting batches are kept. */
export interface OutboxOptions {
  memoryBytes: number;
  spool?: { dir: string; maxBytes: number };
}

const FILE = /^(\d{16})\.mb$/;

/**
 * A FIFO of outgoing batches bounded in bytes. A group (the messages of one selected batch) is taken
 * whole or refused whole: memory first; once memory is full, the spool (if any) takes groups until it
 * empties again, so the order stays oldest first. Spool files hold minimized batches only (mode 0600 in
 * a 0700 directory) and survive a restart: a restarted edge sends them first.
 */
export class Outbox {
  private readonly memory: Outgoing[] = [];
  /** Bytes in memory, those being published included (they may come back). */
  private memBytes = 0;
  private readonly flying = new Set<Outgoing>();
  private flyingFlows = 0;
  private spoolFiles: { name: string; bytes: number; flows: number }[] = [];
  private spoolBytes = 0;
  // Fresh spools number from 10^12, so batches kept at stop can go before them (persist).
  private nextFile = 1e12;

  constructor(private readonly options: OutboxOptions) {
    const sp = options.spool;
    if (sp === undefined) return;
    mkdirSync(sp.dir, { recursive: true, mode: 0o700 });
    chmodSync(sp.dir, 0o700);
    for (const name of readdirSync(sp.dir).filter((n) => FILE.test(n)).sort()) {
      const bytes = readFileSync(join(sp.dir, name));
      const item = decodeSpooled(bytes);
      if (item === undefined) { rmSync(join(sp.dir, name)); continue; } // a write cut short by a crash: never acknowledged to anyone
      this.spoolFiles.push({ name, bytes: bytes.length, flows: item.flows });
      this.spoolBytes += bytes.length;
      this.nextFile = Number(FILE.exec(name)![1]) + 1;
    }
  }

  /** Takes every message of a group, or none (false: no room; the caller counts the flows dropped). */
  offer(group: readonly Outgoing[]): boolean {
    const bytes = group.reduce((a, m) => a + m.data.length, 0);
    if (this.spoolFiles.length === 0 && this.memBytes + bytes <= this.options.memoryBytes) {
      for (const m of group) this.memory.push(m);
      this.memBytes += bytes;
      return true;
    }
    const sp = this.options.spool;
    if (sp === undefined || this.spoolBytes + bytes + group.length * 256 > sp.maxBytes) return false;
    for (const m of group) this.spill(sp.dir, m);
    return true;
  }

  /**
   * Moves what waits in memory into the spool, ahead of what is spooled already (at stop: a restarted edge
   * sends it first). Returns whether anything in memory was kept; without a spool nothing can be.
   */
  persist(): boolean {
    const sp = this.options.spool;
    if (sp === undefined) return this.memory.length === 0;
    let n = (this.spoolFiles.length > 0 ? Number(FILE.exec(this.spoolFiles[0]!.name)![1]) : this.nextFile) - this.memory.length;
    const ahead: { name: string; bytes: number; flows: number }[] = [];
    for (const m of this.memory) ahead.push(this.writeFile(sp.dir, String(n++).padStart(16, '0') + '.mb', m));
    this.spoolFiles = [...ahead, ...this.spoolFiles];
    this.memBytes -= this.memory.reduce((a, m) => a + m.data.length, 0);
    this.memory.length = 0;
    return true;
  }


  /** Takes the oldest waiting message to publish; its bytes stay counted until `done` or `retry`. */
  shift(): Outgoing | undefined {
    if (this.memory.length === 0) this.refill();
    const m = this.memory.shift();
    if (m !== undefined) { this.flying.add(m); this.flyingFlows += m.flows; }
    return m;
  }

  /** A message taken by `shift` was acknowledged: its room is free. */
  done(m: Outgoing): void {
    if (!this.flying.delete(m)) return;
    this.flyingFlows -= m.flows;
    this.memBytes -= m.data.length;
  }

  /** A message taken by `shift` was not acknowledged: back at the head, to go first again. */
  retry(m: Outgoing): void {
    if (!this.flying.delete(m)) return;
    this.flyingFlows -= m.flows;
    this.memory.unshift(m);
  }

  /** What is waiting: messages, bytes and flows, in memory and spooled. */
  size(): { messages: number; bytes: number; flows: number; spooledMessages: number; spooledBytes: number; spooledFlows: number } {
    return {
      messages: this.memory.length + this.flying.size + this.spoolFiles.length,
      bytes: this.memBytes + this.spoolBytes,
      flows: this.flyingFlows + this.memory.reduce((a, m) => a + m.flows, 0) + this.spoolFiles.reduce((a, f) => a + f.flows, 0),
      spooledMessages: this.spoolFiles.length,
      spooledBytes: this.spoolBytes,
      spooledFlows: this.spoolFiles.reduce((a, f) => a + f.flows, 0),
    };
  }

  private spill(dir: string, m: Outgoing): void {
    this.spoolFiles.push(this.writeFile(dir, `${String(this.nextFile++).padStart(16, '0')}.mb`, m));
  }

  private writeFile(dir: string, name: string, m: Outgoing): { name: string; bytes: number; flows: number } {
    const bytes = encodeSpooled(m);
    const fd = openSync(join(dir, name), 'wx', 0o600);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.spoolBytes += bytes.length;
    return { name, bytes: bytes.length, flows: m.flows };
  }

  /** Moves the oldest spooled messages into memory, up to half the memory bound (at least one). */
  private refill(): void {
    const sp = this.options.spool;
    if (sp === undefined) return;
    while (this.spoolFiles.length > 0 && (this.memory.length === 0 || this.memBytes < this.options.memoryBytes / 2)) {
      const f = this.spoolFiles.shift()!;
      const path = join(sp.dir, f.name);
      const item = existsSync(path) ? decodeSpooled(readFileSync(path)) : undefined;
      this.spoolBytes -= f.bytes;
      // Deleted only once in memory: a crash between the two sends it again, with the same message id (stored once).
      if (item !== undefined) { this.memory.push(item); this.memBytes += item.data.length; }
      rmSync(path, { force: true });
    }
  }
}

const te = new TextEncoder();
const td = new TextDecoder();

/** A spool file: "MSP1", u16 msgId length, msgId, u16 subject length, subject, u32 flows, u32 data length, data. */
function encodeSpooled(m: Outgoing): Uint8Array {
  const id = te.encode(m.msgId), subj = te.encode(m.subject);
  const out = new Uint8Array(4 + 2 + id.length + 2 + subj.length + 8 + m.data.length);
  const v = new DataView(out.buffer);
  out.set(te.encode('MSP1'), 0);
  let p = 4;
  v.setUint16(p, id.length, true); p += 2; out.set(id, p); p += id.length;
  v.setUint16(p, subj.length, true); p += 2; out.set(subj, p); p += subj.length;
  v.setUint32(p, m.flows, true); p += 4;
  v.setUint32(p, m.data.length, true); p += 4;
  out.set(m.data, p);
  return out;
}

function decodeSpooled(b: Uint8Array): Outgoing | undefined {
  if (b.length < 16 || td.decode(b.subarray(0, 4)) !== 'MSP1') return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 4;
  const il = v.getUint16(p, true); p += 2;
  if (p + il + 2 > b.length) return undefined;
  const msgId = td.decode(b.subarray(p, p + il)); p += il;
  const sl = v.getUint16(p, true); p += 2;
  if (p + sl + 8 > b.length) return undefined;
  const subject = td.decode(b.subarray(p, p + sl)); p += sl;
  const flows = v.getUint32(p, true); p += 4;
  const dl = v.getUint32(p, true); p += 4;
  if (p + dl !== b.length) return undefined;
  return { msgId, subject, flows, data: b.slice(p, p + dl) };
}
