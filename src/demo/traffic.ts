/** @module The demo's traffic: legal bases for it (the seeded transit approval, a cross-border approval, Kanto Electric's consent), a scenario generator (beacon and botnet fan-in, scan, reflection DDoS, transit, domestic↔domestic chatter) exported as IPFIX over UDP into the demo's own collector. */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { packagePath } from '#platform/paths/index.js';
import { createRandom, encodeIpfix, type FlowRecord } from '#modules/collection/index.js';
import { FLOW_FIELDS } from '#modules/selection/index.js';
import type { User } from '#modules/identity/index.js';
import type { Core } from '#server/core.js';
import { C2, DDOS_TARGET, DOMESTIC_PEERS, KANTO_HOSTS, KANTO_PREFIX, OTHER_DOMESTIC, SCANNER } from './address-plan.js';

export { C2, DDOS_TARGET, DEMO_SPECIAL_RANGE_OVERRIDES, KANTO_PREFIX, SCANNER } from './address-plan.js';

/** The legal bases the demo traffic falls under. */
export interface DemoBases {
  transitBasisId: string;
  crossBorderBasisId: string;
  consentBasisId: string;
  kantoOrgId: string;
  /** Time from which the two commission approvals cover flows (their decision time). */
  approvalsFromMs: number;
}

/** What was sent, for the banner and the test. */
export interface DemoTrafficSummary {
  flows: number;
  datagrams: number;
  scenario: Record<'beacon' | 'fanIn' | 'scan' | 'ddos' | 'transit' | 'crossBorder' | 'domestic', number>;
  softflowd?: { capture: string; exported: string } | undefined;
}

function ctxOf(u: User): RequestContext {
  return { actor: { kind: 'user', id: u.id, username: u.username, roles: u.roles, orgId: u.orgId, sectors: [] }, requestId: `demo-traffic-${u.username}` };
}

/** Drafts, submits and decides an acquisition through oversight as the demo's people; returns the basis it became. */
async function approveAcquisition(core: Core, people: Map<string, User>, input: { title: string; basisKind: 'transit_approval' | 'cross_border_approval'; foreignPrefixes: string[]; ports: number[]; months: number; purpose: string }): Promise<string> {
  const who = (name: string): RequestContext => {
    const u = people.get(name);
    if (u === undefined) throw new Error(`demo user ${name} missing`);
    return ctxOf(u);
  };
  const now = core.clock.nowMs();
  const o = core.oversight;
  const draft = await o.draftRequest(who('analyst'), {
    kind: 'acquisition', title: input.title, evidence: [{ type: 'incident_report', id: 'demo-incident-kanto-electric' }],
    acquisition: { basisKind: input.basisKind, selectors: { foreignPrefixes: input.foreignPrefixes, ports: input.ports }, periodStart: new Date(now).toISOString(), periodEnd: new Date(now + input.months * 28 * 86_400_000).toISOString(), purpose: input.purpose, retentionDays: 90 },
  });
  await o.submitRequest(who('director'), draft.id);
  for (const m of ['chair', 'commissioner1', 'commissioner3']) await o.castVote(who(m), draft.id, { vote: 'approve', reasons: 'Necessary and proportionate: specific selectors, ongoing campaign.' });
  const decided = await o.decideRequest(who('chair'), draft.id);
  const approval = (await o.listApprovals(who('chair'), { limit: 500 })).items.find((a) => a.id === decided.approvalId);
  if (approval?.basisId === undefined || approval.basisId === null) throw new Error('the approval did not become a legal basis');
  return approval.basisId;
}

/**
 * Makes sure the demo traffic has its legal bases: the seeded transit approval (reused), a cross-border
 * approval for the C2 network (through the commission), and Kanto Electric's consent agreement covering
 * its registered block (recorded by the NCO director). Idempotent: reuses what exists.
 * @see DESIGN.md "The legal pipeline" (select); docs/selection.md
 */
export async function prepareDemoBases(core: Core): Promise<DemoBases> {
  const sys = systemContext('demo-traffic');
  const people = new Map((await core.identity.listUsers(sys)).map((u) => [u.username, u]));
  const kanto = (await core.identity.listOrgs(sys)).find((o) => o.name === 'Kanto Electric Power Co.');
  if (kanto === undefined) throw new Error('demo organization Kanto Electric Power Co. missing');
  // Register Kanto Electric's block (designating it first if the seed has not).
  const designated = (await core.registry.listOperators(sys)).find((o) => o.orgId === kanto.id);
  if (designated === undefined) {
    await core.registry.designate(sys, { orgId: kanto.id, sector: 'electricity', designatedOn: '2026-01-15', contacts: [{ name: 'Security operations', email: 'soc@kanto-electric.example' }], regimes: [] });
  }
  if (designated?.ranges.some((r) => r.cidr === KANTO_PREFIX) !== true) await core.registry.addRange(sys, kanto.id, { cidr: KANTO_PREFIX, note: 'Head office and dispatch (consent agreement KE-2026-001)' });

  const active = (await core.selection.listBases(sys, { limit: 500 })).items.filter((b) => b.status === 'active');
  const covers = (b: (typeof active)[number], prefix: string) => b.selectors.foreignPrefixes.includes(prefix);
  const transit = active.find((b) => b.kind === 'transit_approval' && covers(b, '203.0.113.0/24'));
  const transitBasisId = transit?.id ?? await approveAcquisition(core, people, { title: 'Transit flows to the C2 network of campaign "Kumo"', basisKind: 'transit_approval', foreignPrefixes: ['203.0.113.0/24'], ports: [443], months: 2, purpose: 'Identify the servers commanding the botnet.' });
  const cross = active.find((b) => b.kind === 'cross_border_approval' && covers(b, '203.0.113.0/24'));
  const crossBorderBasisId = cross?.id ?? await approveAcquisition(core, people, {
    title: 'Cross-border flows with the C2 network of campaign "Kumo"', basisKind: 'cross_border_approval', foreignPrefixes: ['203.0.113.0/24'], ports: [443], months: 2,
    purpose: 'Find every domestic host that calls the C2 servers, to warn their operators.',
  });
  const consent = active.find((b) => b.kind === 'consent_agreement' && b.operatorOrgId === kanto.id);
  let consentBasisId = consent?.id;
  if (consentBasisId === undefined) {
    const director = people.get('director');
    if (director === undefined) throw new Error('demo user director missing');
    const now = core.clock.nowMs();
    consentBasisId = (await core.selection.createBasis(ctxOf(director), {
      kind: 'consent_agreement', title: 'Kanto Electric Power Co.: consent to analyse its cross-border traffic (KE-2026-001)',
      selectors: { domesticPrefixes: [KANTO_PREFIX] }, operatorOrgId: kanto.id, createdBy: 'consent:KE-2026-001',
      // Signed the day before the demo starts, so the replayed two hours fall under it.
      validFrom: new Date(now - 86_400_000).toISOString(), validUntil: new Date(now + 365 * 86_400_000).toISOString(),
      allowedFields: [...FLOW_FIELDS], retentionDays: 90,
    })).id;
  }
  const bases = await Promise.all([transitBasisId, crossBorderBasisId].map((id) => core.selection.getBasis(sys, id)));
  return { transitBasisId, crossBorderBasisId, consentBasisId, kantoOrgId: kanto.id, approvalsFromMs: Math.max(...bases.map((b) => Date.parse(b.validFrom))) };
}

/**
 * The scenario, as flow records with times relative to `nowMs`: two hours of activity compressed into
 * one export (so the detectors can judge it at once), plus "live" flows after `approvalsFromMs` for the
 * commission's approvals, which never cover traffic from before their decision.
 */
export function demoTrafficRecords(nowMs: number, approvalsFromMs: number): { records: FlowRecord[]; scenario: DemoTrafficSummary['scenario'] } {
  // A seeded PRNG, so the demo sends the same traffic each time.
  const r = createRandom(20260401);
  const records: FlowRecord[] = [];
  const scenario: DemoTrafficSummary['scenario'] = { beacon: 0, fanIn: 0, scan: 0, ddos: 0, transit: 0, crossBorder: 0, domestic: 0 };
  const flow = (start: number, durMs: number, src: string, dst: string, sp: number, dp: number, proto: number, flags: number, bytes: number, packets: number): FlowRecord =>
    ({ start: Math.round(start), end: Math.round(start + durMs), srcAddr: src, dstAddr: dst, srcPort: sp, dstPort: dp, proto, tcpFlags: flags, bytes, packets, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' });
  const H = 3_600_000;

  // Beacon and botnet fan-in: six Kanto Electric hosts call the C2 about once a minute for two hours.
  KANTO_HOSTS.forEach((host, h) => {
    let t = nowMs - 2 * H + h * 7_000;
    while (t < nowMs - 60_000) {
      records.push(flow(t, 300 + r() * 200, host, C2, 49_152 + Math.floor(r() * 16_000), 443, 6, 0x1b, 610 + Math.floor(r() * 30), 6));
      if (h === 0) scenario.beacon++;
      else scenario.fanIn++;
      t += 58_000 + r() * 2_000;
    }
  });

  // A horizontal scan: the scanner probes 254 addresses of Kanto Electric's block on telnet, SYN only, in four minutes.
  const scanAt = nowMs - 70 * 60_000;
  for (let i = 1; i <= 254; i++) {
    records.push(flow(scanAt + i * 950, 0, SCANNER, `210.130.17.${i}`, 40_000 + (i % 1000), 23, 6, 0x02, 60, 1));
    scenario.scan++;
  }

  // An NTP reflection flood: 100 reflectors answer from port 123 with large packets, 5,000 packets/s for two minutes,
  // ending two minutes ago (the DDoS detector judges bins near the stream's head; see docs/detection.md#ddos).
  const ddosAt = nowMs - 4 * 60_000;
  for (let k = 0; k < 100; k++) {
    for (let j = 0; j < 4; j++) {
      records.push(flow(ddosAt + j * 30_000 + r() * 500, 30_000, `198.51.100.${100 + k}`, DDOS_TARGET, 123, 1024 + Math.floor(r() * 60_000), 17, 0, 1500 * 468, 1500));
      scenario.ddos++;
    }
  }

  // Domestic↔domestic chatter: counted and dropped at selection, never stored.
  for (let i = 0; i < 300; i++) {
    const a = KANTO_HOSTS[i % KANTO_HOSTS.length]!;
    const b = DOMESTIC_PEERS[i % DOMESTIC_PEERS.length]!;
    records.push(flow(nowMs - 2 * H + r() * (2 * H - 60_000), 2_000, a, b, 49_152 + (i % 16_000), i % 3 === 0 ? 53 : 445, i % 3 === 0 ? 17 : 6, i % 3 === 0 ? 0 : 0x1b, 900 + (i % 500), 8));
    scenario.domestic++;
  }

  // Live flows since the commission's approvals: transit through Japan to the C2 network (covered),
  // other transit (not covered: dropped), and other domestic networks calling the C2 (cross-border approval).
  const liveFrom = Math.min(approvalsFromMs + 1, nowMs - 1);
  const span = Math.max(1, nowMs - 1 - liveFrom);
  for (let i = 0; i < 40; i++) {
    const t = liveFrom + (span * i) / 40;
    records.push(i % 4 === 3
      ? flow(t, 0, `198.51.100.${10 + (i % 20)}`, `198.51.100.${200 + (i % 20)}`, 50_000 + i, 80, 6, 0x1b, 1200, 10)
      : flow(t, 0, `198.51.100.${40 + (i % 30)}`, `203.0.113.${60 + (i % 10)}`, 50_000 + i, 443, 6, 0x1b, 2400, 12));
    scenario.transit++;
  }
  OTHER_DOMESTIC.forEach((host, h) => {
    for (let i = 0; i < 4; i++) {
      records.push(flow(liveFrom + (span * (h * 4 + i)) / 12, 0, host, C2, 50_500 + i, 443, 6, 0x1b, 620, 6));
      scenario.crossBorder++;
    }
  });
  // Exporters send flows roughly in the order they end.
  records.sort((a, b) => a.end - b.end);
  return { records, scenario };
}

/** Sends datagrams to the collector on loopback, waiting for each send (loopback drops nothing at this pace). */
async function sendDatagrams(datagrams: readonly Uint8Array[], host: string, port: number): Promise<void> {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    for (const d of datagrams) await new Promise<void>((res, rej) => sock.send(d, port, host, (e) => (e ? rej(e) : res())));
  } finally {
    sock.close();
  }
}

/** Replays a capture through Debian's softflowd into the collector, when both are present; otherwise does nothing. */
async function replayWithSoftflowd(host: string, port: number): Promise<DemoTrafficSummary['softflowd']> {
  const capture = join(packagePath('.'), '..', 'shared', 'testdata', 'pcaps', 'test12-icmp-portscan.pcap');
  if (!existsSync(capture)) return undefined;
  const args = ['-r', capture, '-n', `${host.includes(':') ? `[${host}]` : host}:${port}`, '-v', '10', '-A', 'milli', '-d', '-c', 'none', '-p', join(tmpdir(), `mamori-demo-softflowd-${process.pid}.pid`)];
  // On PATH, or where Debian puts it (/usr/sbin is not on every user's PATH).
  for (const tool of ['softflowd', '/usr/sbin/softflowd']) {
    try {
      const { stdout } = await promisify(execFile)(tool, args, { timeout: 30_000 });
      return { capture: 'test12-icmp-portscan.pcap', exported: /Flows exported: (\d+)/.exec(stdout)?.[1] ?? '?' };
    } catch {
      // not installed there, or it failed: the demo goes on without it
    }
  }
  return undefined;
}

/** What sending the demo traffic needs: the core, the collector's address, and the pipeline to wait for and flush. */
export interface DemoTrafficTarget {
  host: string;
  port: number;
  pipeline: { stats(): { received: number }; flush(final?: boolean): Promise<number> };
  /** Also replay a capture with softflowd when it is installed (default true). */
  softflowd?: boolean;
  /** How long to wait for the collector to hand every flow on (default 10 s). */
  waitMs?: number;
}

/**
 * Prepares the bases, exports the scenario as IPFIX over UDP into the collector, waits until the
 * pipeline has received it, and flushes the detectors so the findings are there at once.
 * @see RFC 7011 (IPFIX)
 */
export async function sendDemoTraffic(core: Core, target: DemoTrafficTarget): Promise<DemoTrafficSummary & { bases: DemoBases; findingsWritten: number }> {
  const bases = await prepareDemoBases(core);
  const before = target.pipeline.stats().received;
  // Live flows must fall after the approvals' decision; on a fast machine "now" may still be that very millisecond.
  const now = Math.max(core.clock.nowMs(), bases.approvalsFromMs + 1000);
  const { records, scenario } = demoTrafficRecords(now, bases.approvalsFromMs);
  const { datagrams } = encodeIpfix(records, { exportTimeMs: now, sequence: 0, domainId: 1 });
  await sendDatagrams(datagrams, target.host, target.port);
  const deadline = Date.now() + (target.waitMs ?? 10_000);
  while (target.pipeline.stats().received - before < records.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // Judge the replayed hours at once (closing every window), before anything else arrives.
  let findingsWritten = await target.pipeline.flush(true);
  const softflowd = target.softflowd === false ? undefined : await replayWithSoftflowd(target.host, target.port);
  if (softflowd !== undefined) {
    await new Promise((r) => setTimeout(r, 1500)); // the collector hands partial batches on within a second
    findingsWritten += await target.pipeline.flush(true);
  }
  return { flows: records.length, datagrams: datagrams.length, scenario, softflowd, bases, findingsWritten };
}

/** Banner lines saying what traffic the demo sent and how to see what became of it. */
export function demoTrafficBanner(address: string, s: DemoTrafficSummary): string[] {
  const sc = s.scenario;
  return [
    `  Traffic:   ${s.flows} flows exported as IPFIX (${s.datagrams} datagrams) over UDP into the demo's collector${s.softflowd !== undefined ? `, plus ${s.softflowd.exported} flows of ${s.softflowd.capture} replayed by softflowd` : ''}:`,
    `             beacon ${C2}:443 from a Kanto Electric host (${sc.beacon}) and 5 more hosts (${sc.fanIn}, botnet fan-in); scan of ${KANTO_PREFIX} by ${SCANNER} (${sc.scan});`,
    `             NTP reflection flood on a Kanto Electric server from 100 reflectors (${sc.ddos}, volumetric and reflection); transit (${sc.transit}); other networks calling the C2 (${sc.crossBorder});`,
    `             domestic↔domestic (${sc.domestic}: counted and dropped, never stored). Times span the last two hours, sent at once.`,
    '  Findings and counters (as the analyst):',
    `       curl -s -c /tmp/mamori.jar -H 'content-type: application/json' -d '{"username":"analyst","password":"demo-analyst-pass"}' ${address}/api/v1/auth/login >/dev/null`,
    `       curl -s -b /tmp/mamori.jar '${address}/api/v1/findings'`,
    `       curl -s -b /tmp/mamori.jar ${address}/api/v1/selection/counters`,
    `       curl -s -b /tmp/mamori.jar -H 'content-type: application/json' -d '{"purpose":"demo: who calls the C2","filters":{"from":"${new Date(Date.now() - 3 * 3_600_000).toISOString()}","to":"${new Date(Date.now() + 3_600_000).toISOString()}","foreignAddress":"${C2}"},"groupBy":["basis","category"]}' ${address}/api/v1/flows/query`,
    '',
  ];
}
