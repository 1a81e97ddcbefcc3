import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCidrList, buildNftables, buildRpzZone, DEFAULT_RPZ } from './artifacts.js';
import type { Measure } from './schema.js';

// These tests check the artifacts with the tools defenders load them with. A missing tool is a
// failure, never a skip: install Debian's bind9-utils (named-checkzone) and nftables (nft).

function tool(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0 || r.stdout.trim() === '') throw new Error(`${name} is not installed: apt-get install -y ${name === 'nft' ? 'nftables' : 'bind9-utils'} (the interop suite needs it)`);
  return r.stdout.trim();
}

const dir = mkdtempSync(join(tmpdir(), 'mamori-response-interop-'));
let n = 0;
function file(body: string, ext: string): string {
  const f = join(dir, `artifact-${++n}.${ext}`);
  writeFileSync(f, body);
  return f;
}

function measure(id: string, kind: Measure['kind'], target: Measure['target'], updatedAt = '2026-04-02T10:00:00.000Z'): Measure {
  return {
    id, kind, title: 't', state: 'executing', agency: 'police', target, justification: { findings: ['f'], reports: [], summary: 's' }, expectedEffect: 'e', sdfGrounds: null,
    location: { abroad: false, countries: ['JP'], source: 'declared', declaredCountry: 'JP' }, requestId: 'r', approvalId: 'a', authorization: 'prior', emergencyActionId: null,
    order: null, consultations: [], steps: [], events: [], proposedBy: 'u', proposedAt: updatedAt, updatedAt, executingSince: updatedAt, completedAt: null, haltReason: null,
  };
}

const sinkholes = [
  measure('m1', 'dns_sinkhole', { domains: ['c2.bad.example', 'xn--80ak6aa92e.com', 'a-b.c2.example.net'] }),
  measure('m2', 'dns_sinkhole', { domains: ['c2.bad.example', 'update.evil.example.org'] }, '2026-04-03T00:00:00.000Z'),
];
const blocks = [
  measure('b1', 'block', { prefixes: ['203.0.113.0/24', '203.0.113.128/25', '198.51.100.7', '198.51.100.8', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:ffff::1'] }),
  measure('b2', 'block', { prefixes: ['192.0.2.0/25', '192.0.2.128/25', '0.0.0.0/1', '2001:db9::5'] }),
];

/** Runs nft -c; where the sandbox forbids netlink in this namespace, inside a fresh user and network namespace. */
function nftCheck(path: string): { status: number | null; output: string; how: string } {
  const nft = tool('nft');
  const direct = spawnSync(nft, ['-c', '-f', path], { encoding: 'utf8' });
  if (direct.status === 0 || !/Operation not permitted|Permission denied/.test(direct.stderr)) return { status: direct.status, output: direct.stderr + direct.stdout, how: 'nft -c -f' };
  const ns = spawnSync('unshare', ['-rn', nft, '-c', '-f', path], { encoding: 'utf8' });
  return { status: ns.status, output: ns.stderr + ns.stdout, how: 'unshare -rn nft -c -f' };
}

function checkZone(body: string): string {
  const checker = tool('named-checkzone');
  const origin = DEFAULT_RPZ.origin.replace(/\.$/, '');
  const r = spawnSync(checker, ['-k', 'fail', '-n', 'fail', '-m', 'fail', '-M', 'fail', '-S', 'fail', origin, file(body, 'zone')], { encoding: 'utf8' });
  expect(r.status, `named-checkzone:\n${r.stdout}${r.stderr}\n--- zone ---\n${body}`).toBe(0);
  return r.stdout;
}

describe('artifacts against the real tools', () => {
  it('the RPZ zone passes named-checkzone (bind9-utils) with strict checks', () => {
    const out = checkZone(buildRpzZone(sinkholes).body);
    expect(out).toMatch(/loaded serial \d+/);
    expect(out).toContain('OK');
  });

  it('an empty RPZ zone passes named-checkzone too', () => {
    expect(checkZone(buildRpzZone([]).body)).toContain('OK');
  });

  it('named-checkzone rejects a broken zone (the check is real)', () => {
    const checker = tool('named-checkzone');
    const r = spawnSync(checker, ['rpz.mamori', file(buildRpzZone(sinkholes).body.replace(/^@ IN NS localhost\.$/m, ''), 'zone')], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
  });

  it('the nftables file passes nft -c -f (nftables), with and without elements', () => {
    for (const ms of [blocks, []]) {
      const body = buildNftables(ms).body;
      const r = nftCheck(file(body, 'nft'));
      expect(r.status, `${r.how}:\n${r.output}\n--- file ---\n${body}`).toBe(0);
    }
  });

  it('nft -c rejects a broken file (the check is real)', () => {
    const r = nftCheck(file(buildNftables(blocks).body.replace('flags interval', 'flags nonsense'), 'nft'));
    expect(r.status).not.toBe(0);
  });

  it('the CIDR list is what the nftables set holds, one prefix a line', () => {
    const lines = buildCidrList(blocks).body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toEqual(['0.0.0.0/1', '192.0.2.0/25', '192.0.2.128/25', '198.51.100.7/32', '198.51.100.8/32', '203.0.113.0/24', '2001:db8::/32', '2001:db9::5/128']);
    // Every line parses for the kernel too: load the list into a set and check it.
    const set = `table inet t {\n\tset s4 { type ipv4_addr; flags interval; elements = { ${lines.filter((l) => !l.includes(':')).join(', ')} } }\n\tset s6 { type ipv6_addr; flags interval; elements = { ${lines.filter((l) => l.includes(':')).join(', ')} } }\n}\n`;
    const r = nftCheck(file(set, 'nft'));
    expect(r.status, r.output).toBe(0);
  });
});
