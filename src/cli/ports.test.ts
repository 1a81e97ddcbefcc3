/** @module `mamori serve` and `demo` on a taken TCP or UDP port: a clear message and exit code 1, not a hang. */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ENTRY = "import('./src/cli/main.ts').then((m) => m.main(['node', 'mamori', ...process.argv.slice(1)]))";

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '-e', ENTRY, ...args], {
      env: { ...process.env, MAMORI_DATA_DIR: mkdtempSync(join(tmpdir(), 'mamori-ports-')), MAMORI_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    // A process that has not ended after 40 s hangs: the defect this test is about.
    const timer = setTimeout(() => p.kill('SIGKILL'), 40_000);
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

describe('ports in use', () => {
  const tcp = createServer();
  const udp = createSocket('udp4');
  let tcpPort = 0;
  let udpPort = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    tcpPort = (tcp.address() as { port: number }).port;
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    udpPort = udp.address().port;
  });
  afterAll(() => { tcp.close(); udp.close(); });

  it('serve on a taken TCP port exits 1 naming the port', async () => {
    const r = await run(['serve', '--port', String(tcpPort)], { MAMORI_COLLECTOR_ENABLED: 'false' });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`Cannot listen for HTTP on 127.0.0.1:${tcpPort}: the port is in use`);
  }, 60_000);

  it('serve with a taken UDP collector port exits 1 naming the port', async () => {
    const r = await run(['serve', '--port', '0'], { MAMORI_COLLECTOR_LISTENERS: `127.0.0.1:${udpPort}` });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`Cannot listen for flows on 127.0.0.1:${udpPort}: EADDRINUSE`);
  }, 60_000);

  it('demo on a taken TCP port exits 1', async () => {
    const r = await run(['demo', '--port', String(tcpPort), '--flow-port', '0', '--data-dir', join(mkdtempSync(join(tmpdir(), 'mamori-ports-')), 'demo')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('the port is in use');
  }, 60_000);
});
