// Work queues in a real browser (Debian's chromium through playwright-core) against a real demo server: the analyst
// triages findings (filters on the server, the in-app checks of the dismissal, dismissed with a reason, reopened) and
// pages past the first server page with "more"; a closed case is found by the "closed" filter; the ministry's inbox
// names operator and filing with a one-line acknowledge button; the commission's inspection groups reads by basis and
// by request with drill-down; the audit view filters by actor and hides system writes until asked; the measure form
// checks its fields; a receipt prints (HTML and a PDF through chromium); and the main screens hold at 390 × 844 with the
// task menu. Both languages; no console error. Screenshots: test-results/screenshots/queues-*.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parseConfig } from '#platform/config/index.js';
import { createLogger } from '#platform/logger/index.js';
import { systemContext } from '#platform/context/index.js';
import { startServer, type RunningServer } from '#server/run.js';
import { seedDemo } from '../../src/demo/seed.js';
import { ja } from '../../web/src/i18n/ja.js';
import { en } from '../../web/src/i18n/en.js';
import { CHROMIUM, ROOT, SHOTS, ARGS, ID, prepareBrowserTest, serverSettings } from './support.js';

const PASSWORDS: Record<string, string> = { chair: 'demo-chair-pass', 'pm-delegate': 'demo-pm-pass' };
/** More findings than one server page of the queue (200), so "more" has a next page to load. */
const SCANS = 230;

let server: RunningServer;
let dataDir: string;
let basisFinding = '';
let receiptId = '';

beforeAll(async () => {
  await prepareBrowserTest();
  dataDir = mkdtempSync(join(tmpdir(), 'mamori-queues-'));
  const config = parseConfig({
    ...serverSettings(dataDir),
    audit: { checkpointEverySeconds: 1 },
    selection: { kekBesideData: true },
  });
  server = await startServer(config, { logger: createLogger({ level: 'warn' }) });
  const seeded = await seedDemo(server.core);
  const sys = systemContext('pipeline');
  const now = Date.now();
  // The demo's acquisition basis: one finding rests on it, so the inspection has reads under a basis and its request.
  const bases = (await server.core.selection.listBases(systemContext('test'), { limit: 500 })).items;
  const basis = bases.find((b) => b.kind !== 'consent_agreement') ?? bases[0];
  expect(basis, 'the demo seeds a legal basis').toBeDefined();
  [basisFinding] = await server.core.analysis.recordFindings(sys, [{
    kind: 'beacon', subject: { kind: 'address', value: '203.0.113.200' }, level: 'alert', score: 0.95, scoreDetail: { method: 'test', components: {} },
    evidence: {}, hosts: [], hostCount: 2, firstSeen: now - 7_200_000, lastSeen: now - 60_000, bases: [basis!.id],
  }]) as [string];
  await server.core.analysis.recordFindings(sys, Array.from({ length: SCANS }, (_, i) => ({
    kind: 'scan-horizontal' as const, subject: { kind: 'address' as const, value: `198.51.${100 + Math.floor(i / 250)}.${(i % 250) + 1}` },
    level: (i % 3 === 0 ? 'suspect' : 'info') as 'suspect' | 'info', score: 0.3 + (i % 50) / 100, scoreDetail: { method: 'test', components: {} }, evidence: {},
    hosts: [], hostCount: i % 7, firstSeen: now - 3_600_000, lastSeen: now - (i + 2) * 60_000, bases: [],
  })));
  const receipts = await server.core.db.kysely.selectFrom('report_receipts').select(['id', 'subject_id']).execute() as { id: string; subject_id: string }[];
  receiptId = receipts.find((r) => r.subject_id === seeded.reporting?.notificationId)?.id ?? receipts[0]!.id;
  await server.core.checkpointer.checkpointNow();
}, 240_000);

afterAll(async () => {
  await server?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

for (const lang of ['ja', 'en'] as const) {
  const T = lang === 'ja' ? ja : en;
  const f = (key: keyof typeof ja, vars: Record<string, string | number> = {}) => T[key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
  describe(`work queues in ${lang === 'ja' ? 'Japanese' : 'English'}`, () => {
    let context: BrowserContext;
    let page: Page;
    let profile: string;
    const problems: string[] = [];
    const base = () => server.address;
    const snap = async (name: string) => page.screenshot({ path: join(SHOTS, `${lang}-queues-${name}.png`), fullPage: true });
    const heading = (text: string) => page.getByRole('heading', { level: 1, name: text });
    const signIn = async (user: string) => {
      await context.clearCookies();
      const res = await page.request.post(`${base()}/api/v1/auth/login`, { data: { username: user, password: PASSWORDS[user] ?? `demo-${user}-pass` } });
      expect(res.status(), `sign-in of ${user}`).toBe(200);
    };
    const loaded = async () => {
      await page.locator('h1').first().waitFor();
      await expect.poll(() => page.locator('.state.loading').count(), { timeout: 20_000 }).toBe(0);
    };

    beforeAll(async () => {
      profile = mkdtempSync(join(tmpdir(), `mamori-queues-chromium-${lang}-`));
      context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, locale: lang === 'ja' ? 'ja-JP' : 'en-US', timezoneId: 'Europe/London', viewport: { width: 1280, height: 900 } });
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console on ${page.url()}: ${m.text()}`); });
      await page.goto(`${base()}/app/transparency`);
      await page.evaluate(`localStorage.setItem('mamori.lang', '${lang}')`);
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      rmSync(profile, { recursive: true, force: true });
    });

    it('triages findings: server filters, "more" past the first page, a dismissal checked in the page, dismissed with a reason, reopened', async () => {
      await signIn('analyst');
      await page.goto(`${base()}/app/findings?kind=scan-horizontal`);
      await loaded();
      // The first server page (200) of the scans, then the next page through the cursor.
      const status = page.locator('.more-rows [role="status"]');
      await expect.poll(() => status.textContent()).toBe(f('more.loadedOf', { n: 200, total: SCANS }));
      await page.getByRole('button', { name: T['more.button'] }).click();
      await expect.poll(() => page.locator('.pager [role="status"]').textContent()).toContain(String(SCANS));
      await expect.poll(() => page.locator('.more-rows').count()).toBe(0);
      await snap('findings-more');

      await page.goto(`${base()}/app/findings/${basisFinding}`);
      await heading(T['findings.detail']).waitFor();
      const triage = page.getByRole('region', { name: T['triage.title'] });
      await triage.getByText(T['triage.state.new']).waitFor();
      // Nothing chosen: the page says what to fix under the field, and nothing is sent.
      await triage.getByRole('button', { name: T['triage.dismiss'] }).click();
      await triage.getByText(T['triage.err.reason']).waitFor();
      await triage.getByLabel(T['triage.reason']).selectOption('other');
      await triage.getByRole('button', { name: T['triage.dismiss'] }).click();
      await triage.getByText(T['triage.err.otherNote']).waitFor();
      await triage.getByLabel(T['triage.reason']).selectOption('false_positive');
      await triage.getByLabel(T['triage.note']).fill('Our own vulnerability scanner.');
      await triage.getByRole('button', { name: T['triage.dismiss'] }).click();
      await page.getByRole('region', { name: T['triage.title'] }).getByText(f('triage.withReason', { state: T['triage.state.dismissed'], reason: T['triage.reason.false_positive'] })).first().waitFor();
      await snap('finding-dismissed');

      await page.goto(`${base()}/app/findings?state=dismissed`);
      await loaded();
      const rows = page.locator('.data-table tbody tr');
      await expect.poll(() => rows.count()).toBe(1);
      await rows.first().getByRole('link', { name: T['findingKind.beacon'] }).waitFor();
      // Dismissed, it has left the new ones.
      await page.goto(`${base()}/app/findings?state=new&kind=beacon&q=203.0.113.200`);
      await loaded();
      await page.getByText(T['triage.noneMatch']).waitFor();

      await page.goto(`${base()}/app/findings/${basisFinding}`);
      const again = page.getByRole('region', { name: T['triage.title'] });
      await again.getByRole('button', { name: T['triage.reopen'] }).click();
      await again.getByText(T['triage.err.reopenNote']).waitFor();
      await again.getByLabel(T['triage.reopenNote']).fill('The scanner is not ours.');
      await again.getByRole('button', { name: T['triage.reopen'] }).click();
      await page.locator('.history li').filter({ hasText: T['triage.op.reopen'] }).first().waitFor();
      await page.getByRole('region', { name: T['triage.title'] }).getByRole('button', { name: T['triage.dismiss'] }).waitFor();
    }, 120_000);

    it('checks the measure form field by field before sending', async () => {
      await signIn('analyst');
      await page.goto(`${base()}/app/findings/${basisFinding}`);
      const propose = page.getByRole('region', { name: T['propose.title'] });
      await propose.getByLabel(T['propose.domains']).fill('ok.example not_a_domain');
      await propose.getByRole('button', { name: T['propose.submit'] }).click();
      await propose.getByText(f('mf.err.domain', { value: 'not_a_domain' })).waitFor();
      await propose.getByText(T['mf.err.required']).first().waitFor();
      expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('m-title');
      expect(page.url()).toContain(`/app/findings/${basisFinding}`);
      await snap('measure-form-checked');
    }, 60_000);

    it('finds a closed case with the "closed" filter', async () => {
      await signIn('analyst');
      const made = await page.request.post(`${base()}/api/v1/cases`, { data: { title: `Closed ${lang}`, findingIds: [] } });
      const id = ((await made.json()) as { id: string }).id;
      expect((await page.request.patch(`${base()}/api/v1/cases/${id}`, { data: { status: 'closed' } })).status()).toBe(200);
      await page.goto(`${base()}/app/cases`);
      await loaded();
      await page.getByLabel(T['requests.filter']).selectOption('closed');
      await page.getByRole('link', { name: `Closed ${lang}` }).waitFor();
      expect(page.url()).toContain('status=closed');
      // A form that relies on its fields' constraints answers in the page, in the reader's language.
      await page.getByRole('button', { name: T['cases.open'], exact: true }).click();
      await page.getByText(T['fc.required']).waitFor();
      expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('case-title');
      expect(await page.getByLabel(T['cases.name']).getAttribute('aria-invalid')).toBe('true');
      await page.getByLabel(T['cases.name']).fill('x');
      await expect.poll(() => page.getByText(T['fc.required']).count()).toBe(0);
      await page.getByLabel(T['requests.filter']).selectOption('measure-proposed');
      await page.getByText(f('cases.noneWithStatus', { status: T['caseStatus.measure-proposed'] })).waitFor();
      await snap('cases-closed');
    }, 60_000);

    it('names the ministry inbox rows and keeps the acknowledge button on one line', async () => {
      await signIn('ministry');
      await page.goto(`${base()}/app/inbox`);
      await loaded();
      const operator = lang === 'ja' ? '関東電力株式会社' : 'Kanto Electric Power Co.';
      const row = page.locator('table.inbox tbody tr').filter({ hasText: operator }).filter({ has: page.getByRole('button', { name: T['inbox.acknowledge'] }) }).first();
      await row.waitFor();
      const text = (await row.textContent()) ?? '';
      expect(text.includes(T['inboxq.notification'].split(/[（(]/)[0]!) || text.includes(T['inboxq.report'].split(/[（(]/)[0]!)).toBe(true);
      expect(ID.test(text), text).toBe(false);
      const button = row.getByRole('button', { name: T['inbox.acknowledge'] });
      const box = (await button.boundingBox())!;
      const lineHeight = Number((await button.evaluate((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { lineHeight: string } }).getComputedStyle(b).lineHeight)).replace('px', ''));
      expect(box.height, 'the acknowledge button holds one line').toBeLessThan(lineHeight * 1.9);
      await snap('inbox');
      await page.getByLabel(T['inboxq.pendingOnly']).check();
      await expect.poll(() => page.url()).toContain('pending=1');
      // The filtered list loads after the URL changes: count once it shows its buttons (a count taken while it loaded was 0).
      await expect.poll(() => page.getByRole('button', { name: T['inbox.acknowledge'] }).count()).toBeGreaterThan(0);
      const before = await page.getByRole('button', { name: T['inbox.acknowledge'] }).count();
      await page.getByRole('button', { name: T['inbox.acknowledge'] }).first().click();
      await expect.poll(() => page.getByRole('button', { name: T['inbox.acknowledge'] }).count()).toBe(before - 1);
    }, 60_000);

    it('groups the inspection by basis and by request, and opens a group\'s reads', async () => {
      // A read under the basis (the analyst opens the finding resting on it), then the commission inspects.
      await signIn('analyst');
      expect((await page.request.get(`${base()}/api/v1/findings/${basisFinding}`)).status()).toBe(200);
      await signIn('chair');
      await page.goto(`${base()}/app/inspection`);
      await loaded();
      const groups = page.locator('table.read-groups tbody tr');
      await expect.poll(() => groups.count()).toBeGreaterThan(1);
      const all = (await page.locator('table.read-groups').textContent()) ?? '';
      expect(ID.test(all), all).toBe(false);
      const named = groups.filter({ hasNotText: T['inspectq.noBasis'] }).first();
      await named.getByRole('link').first().click();
      await expect.poll(() => page.url()).toContain('in=');
      const reads = page.locator('table[aria-labelledby="reads"] tbody tr');
      await expect.poll(() => reads.count()).toBeGreaterThan(0);
      await snap('inspection-by-basis');
      await page.getByLabel(T['inspectq.groupBy']).selectOption('request');
      await expect.poll(() => groups.count()).toBeGreaterThan(0);
      const byRequest = (await page.locator('table.read-groups').textContent()) ?? '';
      expect(ID.test(byRequest), byRequest).toBe(false);
      await snap('inspection-by-request');
    }, 60_000);

    it('filters the audit view by actor and hides system writes until asked', async () => {
      await signIn('chair');
      await page.goto(`${base()}/app/audit`);
      await loaded();
      const rows = page.locator('table tbody tr[data-index]');
      await expect.poll(() => rows.count()).toBeGreaterThan(0);
      expect(await page.locator('table tbody tr[data-index]').filter({ hasText: T['auditf.system'] }).count()).toBe(0);
      // The pipeline's findings writes: hidden by default, shown with the toggle.
      await page.getByLabel(T['audit.action'], { exact: true }).fill('findings:write');
      await page.getByRole('button', { name: T['auditf.apply'], exact: true }).click();
      await page.getByText(T['auditf.noneMatch']).waitFor();
      await page.getByLabel(T['auditf.showSystem']).check();
      await expect.poll(() => page.locator('table tbody tr[data-index]').filter({ hasText: T['auditf.system'] }).count()).toBeGreaterThan(0);
      await snap('audit-system-shown');
      await page.getByLabel(T['auditf.showSystem']).uncheck();
      await page.getByLabel(T['audit.action'], { exact: true }).fill('');
      await page.getByLabel(T['audit.actor'], { exact: true }).fill('analyst');
      await page.getByRole('button', { name: T['auditf.apply'], exact: true }).click();
      await expect.poll(() => page.url()).toContain('actor=analyst');
      await expect.poll(async () => {
        const names = await page.locator('table tbody tr[data-index] td:nth-child(3)').allTextContents();
        return names.length > 0 && names.every((n) => n.trim() === 'analyst');
      }).toBe(true);
      await snap('audit-filtered');
    }, 60_000);

    it('prints a receipt: an HTML page with how to verify its signature, and a PDF through the browser', async () => {
      await signIn('operator');
      await page.goto(`${base()}/app/notifications`);
      await loaded();
      const link = page.getByRole('link', { name: T['receipt.print'] }).first();
      expect(await link.getAttribute('href')).toMatch(/\/api\/v1\/receipts\/[^/]+\?format=html$/);
      await page.goto(`${base()}/api/v1/receipts/${receiptId}?format=html`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      const body = (await page.textContent('body')) ?? '';
      expect(body).toContain('受領証');
      expect(body).toContain('Filing receipt');
      expect(body).toContain('openssl pkeyutl -verify');
      expect(body).toContain('関東電力株式会社');
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('.actions').isVisible()).toBe(false);
      const pdf = await page.pdf({ format: 'A4' });
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      await page.emulateMedia({ media: 'screen' });
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      await snap('receipt');
    }, 60_000);

    it('holds at 390 × 844: no sideways scroll, the task menu opens its group inside the screen', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        const walk: [string, string[]][] = [
          ['analyst', ['/app', '/app/findings', `/app/findings/${basisFinding}`, '/app/cases']],
          ['ministry', ['/app/inbox']],
          ['chair', ['/app/inspection', '/app/audit']],
          ['operator', ['/app/incidents', '/app/notifications']],
        ];
        const wide: string[] = [];
        for (const [user, paths] of walk) {
          await signIn(user);
          for (const p of paths) {
            await page.goto(`${base()}${p}`);
            await loaded();
            const width = await page.evaluate('document.documentElement.scrollWidth') as number;
            if (width > 390) wide.push(`${user} ${p}: ${width}px`);
            await page.screenshot({ path: join(SHOTS, `${lang}-queues-390-${user}-${p.replace(/^\/app\/?/, '').replace(/[^a-z0-9]+/gi, '-') || 'home'}.png`), fullPage: false });
          }
        }
        expect(wide, wide.join('\n')).toEqual([]);
        await signIn('chair');
        await page.goto(`${base()}/app`);
        await loaded();
        const menu = page.getByRole('navigation', { name: T['a11y.mainNav'] });
        await menu.getByRole('button', { name: T['navg.oversight'] }).click();
        const audit = menu.getByRole('link', { name: T['nav.audit'], exact: true });
        await audit.waitFor();
        const box = (await audit.boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(390);
        // The group opens just under the header, inside the first screen.
        expect(box.y + box.height).toBeLessThanOrEqual(844);
        await page.screenshot({ path: join(SHOTS, `${lang}-queues-390-menu.png`) });
        await page.keyboard.press('Escape');
        await expect.poll(() => audit.isVisible()).toBe(false);
        await menu.getByRole('button', { name: T['navg.oversight'] }).click();
        await audit.click();
        await heading(T['audit.title']).waitFor();
      } finally {
        await page.setViewportSize({ width: 1280, height: 900 });
      }
    }, 120_000);

    it('saw no script error or failed request in the console', () => {
      expect(problems, problems.join('\n')).toEqual([]);
    });
  });
}
