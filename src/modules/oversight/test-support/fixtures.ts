/** @module Test fixtures for oversight: a core on a fresh database with a ManualClock, the people of the commission and the NCO, and a fake selection/response behind the hooks. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '#platform/clock/index.js';
import type { ConfigInput } from '#platform/config/index.js';
import type { RequestContext, Role } from '#platform/context/index.js';
import { newId } from '#platform/ids/index.js';
import { createTestCore } from '#server/test-support/harness.js';
import type { Core } from '#server/core.js';
import type { ApprovedAcquisition, BasisIssuer, DataInventory, DataPurger, MeasureHalter } from '../ports.js';
import type { DraftInput } from '../schema.js';

/** A person acting in a test: a context with the given roles. */
export function person(username: string, roles: Role[]): RequestContext {
  return { actor: { kind: 'user', id: newId(), username, roles, orgId: null, sectors: [] }, requestId: `test-${username}` };
}

/** The cast: an analyst, an NCO director, a police officer, the chair and four members. */
export function cast() {
  return {
    analyst: person('analyst', ['analyst']),
    director: person('director', ['nco_director']),
    police: person('police', ['police']),
    members: [person('chair', ['commissioner']), ...[1, 2, 3, 4].map((i) => person(`commissioner${i}`, ['commissioner']))],
    admin: person('admin', ['admin']),
  };
}

/** Selection and response as oversight sees them: bases issued and revoked, flows held per basis, measures halted. */
export class FakeNeighbours implements BasisIssuer, DataPurger, MeasureHalter, DataInventory {
  readonly bases = new Map<string, { approval: ApprovedAcquisition; revoked: boolean; flows: number }>();
  readonly halted = new Set<string>();
  private n = 0;
  async issue(_ctx: RequestContext, approval: ApprovedAcquisition): Promise<{ basisId: string }> {
    const basisId = `basis-${++this.n}`;
    this.bases.set(basisId, { approval, revoked: false, flows: 0 });
    return { basisId };
  }
  async revoke(_ctx: RequestContext, basisId: string): Promise<void> {
    const b = this.bases.get(basisId);
    if (b !== undefined) b.revoked = true;
  }
  async purgeByBasis(_ctx: RequestContext, basisId: string): Promise<{ flows: number; partitions: number }> {
    const b = this.bases.get(basisId);
    const flows = b?.flows ?? 0;
    if (b !== undefined) b.flows = 0;
    return { flows, partitions: flows > 0 ? 1 : 0 };
  }
  async halt(_ctx: RequestContext, measureId: string): Promise<void> {
    this.halted.add(measureId);
  }
  async inventoryByBasis() {
    return [...this.bases.entries()].map(([basisId, b]) => ({ basisId, flows: b.flows, bytes: b.flows * 100, oldest: null, newest: null }));
  }
  async discardCounters() {
    return [{ exporter: '192.0.2.1', category: 'domestic', reason: 'domestic', count: 42 }];
  }
  /** Selection keeps `flows` flows under a basis (only while it is not revoked). */
  acquire(basisId: string, flows: number): void {
    const b = this.bases.get(basisId);
    if (b !== undefined && !b.revoked) b.flows += flows;
  }
}

/** A core with the oversight hooks connected to a FakeNeighbours, on a ManualClock, with its own data directory. */
export async function oversightCore(config: ConfigInput = {}): Promise<{ core: Core; clock: ManualClock; fake: FakeNeighbours; dataDir: string }> {
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  const dataDir = mkdtempSync(join(tmpdir(), 'mamori-oversight-'));
  const core = await createTestCore({ clock, config: { dataDir, ...config } });
  const fake = new FakeNeighbours();
  core.oversight.connect({ basisIssuer: fake, purger: fake, halter: fake, inventory: fake });
  return { core, clock, fake, dataDir };
}

/** A valid transit acquisition scope for [start, start + days). */
export function acquisitionScope(start = '2026-04-01T00:00:00.000Z', days = 60) {
  return {
    basisKind: 'transit_approval' as const,
    selectors: { foreignPrefixes: ['203.0.113.0/24', '198.51.100.0/24'], ports: [443, 8443] },
    periodStart: start,
    periodEnd: new Date(Date.parse(start) + days * 86_400_000).toISOString(),
    purpose: 'Identify the command-and-control servers of campaign X.',
  };
}

/** A valid transit acquisition draft for [start, start + days). */
export function acquisitionDraft(start = '2026-04-01T00:00:00.000Z', days = 60): DraftInput {
  return { kind: 'acquisition', title: 'Transit flows to the C2 network of campaign X', evidence: [{ type: 'finding', id: 'finding-1' }], acquisition: acquisitionScope(start, days) };
}

/** A measure draft for `measureId`. */
export function measureDraft(measureId: string, agency: 'police' | 'sdf' = 'police'): DraftInput {
  return { kind: 'measure', title: `Sinkhole for ${measureId}`, evidence: [{ type: 'case', id: 'case-1' }], measure: { measureId, measureKind: 'dns_sinkhole', agency, summary: 'Sinkhole the C2 domains.' } };
}
