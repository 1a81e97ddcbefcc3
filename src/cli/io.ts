/** @module Terminal helpers for the CLI: errors that say what to fix, hidden password prompts, progress bars. */
import { createInterface } from 'node:readline';
import { isAppError } from '#platform/errors/index.js';

/** Prints an error for a person and returns the exit code; stacks only with MAMORI_DEBUG=1. */
export function reportError(e: unknown, env: Readonly<Record<string, string | undefined>>): number {
  if (isAppError(e)) {
    process.stderr.write(`mamori: ${e.message}\n`);
    if (e.details !== undefined && e.details.length > 1) for (const d of e.details) process.stderr.write(`  - ${d.path}: ${d.message}\n`);
    return e.code === 'CONFIG_INVALID' || e.code === 'VALIDATION_FAILED' || e.code === 'BAD_REQUEST' ? 2 : 1;
  }
  process.stderr.write(`mamori: unexpected error: ${(e as Error).message ?? String(e)}\n`);
  if (env['MAMORI_DEBUG'] === '1') process.stderr.write(`${(e as Error).stack ?? ''}\n`);
  return 1;
}

/** Reads all of standard input (for --password-stdin). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks for a password without echoing it; only on a terminal. */
export async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new Error('no terminal to ask for a password on: use --password-stdin');
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const rlAny = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  let asked = false;
  rlAny._writeToOutput = (s: string) => {
    if (!asked) { rlAny.output.write(s); asked = true; }
  };
  return new Promise((resolve) => rl.question(question, (answer) => { rl.close(); process.stdout.write('\n'); resolve(answer); }));
}

/** A progress bar on stderr for long work; silent when stderr is not a terminal, except a final line. */
export class Progress {
  private last = 0;
  private readonly started = Date.now();
  constructor(private readonly label: string, private readonly total: number | undefined, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** Reports `done` units so far (redraws at most ten times a second). */
  update(done: number): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (now - this.last < 100 && done !== this.total) return;
    this.last = now;
    const rate = done / Math.max(0.001, (now - this.started) / 1000);
    if (this.total !== undefined && this.total > 0) {
      const frac = Math.min(1, done / this.total);
      const width = 30;
      const filled = Math.round(frac * width);
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}% ${done}/${this.total} (${Math.round(rate)}/s)`);
    } else {
      this.stream.write(`\r${this.label} ${done} (${Math.round(rate)}/s)`);
    }
  }

  /** Ends the bar with a summary line. */
  finish(summary: string): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[K');
    this.stream.write(`${this.label}: ${summary}\n`);
  }
}
