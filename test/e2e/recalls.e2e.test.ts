/** @module Recall notices in the browser, Japanese and English: the council member's organization confirms deletion; the commission tracks it; names, not ids. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parseConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { createLogger } from '#platform/logger/index.js';
import { startServer, type RunningServer } from '#server/run.js';
import { seedDemo } from '../../src/demo/seed.js';
import { ja } from '../../web/src/i18n/ja.js';
import { en } from '../../web/src/i18n/en.js';
import { CHROMIUM, ARGS, ID, prepareBrowserTest, serverSettings } from './support.js';

const BASIS_TITLE = 'Cross-border approval: C2 of the botnet (revoked)';

let server: RunningServer;
let dataDir: string;
let councilOrgName = '';

beforeAll(async () => {
  await prepareBrowserTest();
  dataDir = mkdtempSync(join(tmpdir(), 'mamori-recalls-e2e-'));
  const config = parseConfig({
    ...serverSettings(dataDir), collector: { enabled: false }, selection: { kekBesideData: true },
  });
  server = await startServer(config, { logger: createLogger({ level: 'warn' }) });
  await seedDemo(server.core);
  await server.core.checkpointer.checkpointNow();
  const sys = systemContext('test');
  const council = (await server.core.identity.listUsers(sys)).find((u) => u.username === 'council')!;
  councilOrgName = (await server.core.identity.listOrgs(sys)).find((o) => o.id === council.orgId)!.name;
  const basis = await server.core.selection.createBasis(sys, {
    kind: 'cross_border_approval', title: BASIS_TITLE, createdBy: 'request-test', selectors: { foreignPrefixes: ['45.33.32.0/24'] },
    validFrom: '2026-03-01T00:00:00.000Z', validUntil: '2026-05-01T00:00:00.000Z', allowedFields: ['start', 'end', 'srcAddr', 'dstAddr'], retentionDays: 30,
  });
  // Two notices as a purge writes them (src/server/lifecycle.test.ts makes them from a real revocation): one per language.
  await server.core.db.kysely.insertInto('sharing_recalls').values(['ja', 'en'].map((l, i) => ({
    id: `recall-${l}`, draft_id: `draft-${l}`, stix_ids: JSON.stringify([`indicator--5f0b0c5e-0000-4000-8000-00000000000${i}`, `infrastructure--5f0b0c5e-0000-4000-8000-00000000001${i}`]),
    recipient_org_id: council.orgId!, basis_id: basis.id, created_at: `2026-04-0${i + 1}T00:00:00.000Z`, acknowledged_at: null, acknowledged_by: null,
  }))).execute();
}, 240_000);

afterAll(async () => {
  await server?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

for (const lang of ['ja', 'en'] as const) {
  const T = lang === 'ja' ? ja : en;
  describe(`recall notices in ${lang === 'ja' ? 'Japanese' : 'English'}`, () => {
    let context: BrowserContext;
    let page: Page;
    let profile: string;
    const problems: string[] = [];
    const signIn = async (user: string, password: string) => {
      await context.clearCookies();
      expect((await page.request.post(`${server.address}/api/v1/auth/login`, { data: { username: user, password } })).status()).toBe(200);
    };
    /** Visible text outside code and closed details (the STIX ids are there, for copying). */
    const visible = () => page.evaluate<string>(`(() => {
      const out = [];
      const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = w.nextNode(); n !== null; n = w.nextNode()) {
        const el = n.parentElement;
        if (el === null || el.closest('code, script, style, .sr-only') !== null) continue;
        if (el.closest('details:not([open])') !== null && el.closest('summary') === null) continue;
        if (el.getClientRects().length === 0) continue;
        out.push(n.textContent.trim());
      }
      return out.join('\\n');
    })()`);

    beforeAll(async () => {
      profile = mkdtempSync(join(tmpdir(), `mamori-recalls-chromium-${lang}-`));
      context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, locale: lang === 'ja' ? 'ja-JP' : 'en-US', viewport: { width: 1280, height: 900 } });
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`); });
      await page.goto(`${server.address}/app/transparency`);
      await page.evaluate(`localStorage.setItem('mamori.lang', '${lang}')`);
    }, 60_000);
    afterAll(async () => {
      await context?.close();
      rmSync(profile, { recursive: true, force: true });
    });

    it('the council member sees its notices by name and confirms deletion; the commission sees it confirmed', async () => {
      await signIn('council', 'demo-council-pass');
      await page.goto(`${server.address}/app`);
      await page.getByRole('link', { name: T['nav.recalls'] }).first().click();
      await page.getByRole('heading', { level: 1, name: T['recalls.title'] }).waitFor();
      const row = page.locator('tr', { hasText: T['recalls.yourOrg'] }).filter({ has: page.getByRole('button', { name: T['recalls.acknowledge'] }) }).first();
      await row.waitFor();
      await expect.poll(() => page.locator('tbody tr').count()).toBe(lang === 'ja' ? 2 : 1);
      const text = await visible();
      expect(text).toContain(BASIS_TITLE);
      expect(text).toContain(`${T['stixType.indicator']} ×1`);
      expect(text).toContain(`${T['stixType.infrastructure']} ×1`);
      expect(ID.exec(text), 'no raw id outside the STIX ids to copy').toBeNull();
      // The ids to delete are one click away.
      await row.getByText(T['recalls.objectCount'].replace('{n}', '2')).click();
      await expect.poll(() => row.locator('code').allTextContents()).toEqual([expect.stringMatching(/^indicator--/), expect.stringMatching(/^infrastructure--/)]);
      await row.getByRole('button', { name: T['recalls.acknowledge'] }).click();
      await page.getByText(T['recalls.done']).waitFor();
      // Pending only (the default): the confirmed one left the list.
      await expect.poll(() => page.locator('tbody tr').count().catch(() => 0)).toBe(lang === 'ja' ? 1 : 0);

      // The commission sees every notice, with the recipient's name and who confirmed.
      await signIn('chair', 'demo-chair-pass');
      await page.goto(`${server.address}/app/recalls?state=all`);
      await page.getByRole('heading', { level: 1, name: T['recalls.title'] }).waitFor();
      await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
      const all = await visible();
      expect(all).toContain(councilOrgName);
      expect(all).toContain(T['recalls.acknowledged'].split('{at}')[0]!.trim());
      expect(ID.exec(all)).toBeNull();
      expect(problems, problems.join('\n')).toEqual([]);
    }, 180_000);
  });
}
