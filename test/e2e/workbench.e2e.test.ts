// The analyst's workbench in a real browser (Debian's chromium through playwright-core) against a real server that
// received the demo's traffic through its own UDP collector: every role's main screens in both languages show no
// raw id (UUID/ULID) and, in Japanese, no English code, without a console error; an analyst pivots from a finding's
// foreign address to its entity page and flows chart, zooms the time range, and sorts and pages the findings; a
// council member searches the intel and exports a bundle that `mamori leak trace` attributes to that member.
// Screenshots: test-results/screenshots/ (kept by CI as artifacts).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parseConfig } from '#platform/config/index.js';
import { createLogger } from '#platform/logger/index.js';
import { systemContext } from '#platform/context/index.js';
import { startServer, type RunningServer } from '#server/run.js';
import { createPipeline, type Pipeline } from '#server/pipeline.js';
import type { UdpCollector } from '#modules/collection/index.js';
import { collectorComponents } from '../../src/cli/commands/collection.js';
import { seedDemo } from '../../src/demo/seed.js';
import { C2, DEMO_SPECIAL_RANGE_OVERRIDES, sendDemoTraffic } from '../../src/demo/traffic.js';
import { ja } from '../../web/src/i18n/ja.js';
import { en } from '../../web/src/i18n/en.js';
import { CHROMIUM, ROOT, SHOTS, ARGS, ID, prepareBrowserTest, serverSettings } from './support.js';

/** A UUID or a ULID anywhere in visible text. */
/** An English code in Japanese text: snake_case or camelCase words (`closed_network`, `clientsEstimate`), or a kebab-case code alone (`scan-horizontal`). */
const CODE = /\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+[A-Z][A-Za-z]*\b/;
const KEBAB = /^[a-z]+(?:-[a-z]+)+$/;
/** Sentences the server writes in English (kept for API and CLI clients) that the dashboard must word from their codes in Japanese. */
const SERVER_PHRASES = /overdue since|escalated by the ministry|approved by the commission|approval revoked|emergency action (?:denied|not approved)|halted by oversight|only submitted requests|No quorum|Only filings are acknowledged|may last at most|median of its recent normal bins|The server refused|Your role may not/i;
const ENTRY = "import('./src/cli/main.ts').then((m) => m.main(['node', 'mamori', ...process.argv.slice(1)]))";

/** The main screens of each demo user: the role's daily work. */
const WALK: readonly { user: string; paths: readonly string[] }[] = [
  { user: 'operator', paths: ['/app', '/app/incidents', '/app/incidents/new', '/app/notifications', '/app/inbox', '/app/intel', '/app/artifacts'] },
  { user: 'ministry', paths: ['/app', '/app/inbox', '/app/incidents', '/app/notifications', '/app/intel'] },
  { user: 'analyst', paths: ['/app', '/app/inbox', '/app/findings', '@finding', `/app/entities/address/${C2}`, '/app/cases', '/app/drafts', '/app/flows', '/app/counters', '/app/measures', '/app/requests', '/app/requests/new', '/app/approvals', '/app/emergency', '/app/intel'] },
  { user: 'director', paths: ['/app', '/app/inbox', '/app/requests', '/app/measures', '/app/drafts'] },
  { user: 'chair', paths: ['/app', '/app/requests', '/app/approvals', '/app/emergency', '/app/inspection', '/app/diet-report', '/app/audit'] },
  { user: 'police', paths: ['/app', '/app/measures', '/app/approvals', '/app/artifacts'] },
  { user: 'sdf', paths: ['/app/measures'] },
  { user: 'pm-delegate', paths: ['/app/measures'] },
  { user: 'mofa', paths: ['/app/measures'] },
  { user: 'council', paths: ['/app', '/app/intel'] },
];
const PASSWORDS: Record<string, string> = { chair: 'demo-chair-pass', 'pm-delegate': 'demo-pm-pass' };

/** Runs the `mamori` command from the sources. */
function mamori(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '-e', ENTRY, ...args], { cwd: ROOT, env: { ...process.env, MAMORI_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.on('exit', (code) => { clearTimeout(timer); done({ code, out }); });
  });
}

let server: RunningServer;
let dataDir: string;
let beaconId = '';

beforeAll(async () => {
  await prepareBrowserTest();
  dataDir = mkdtempSync(join(tmpdir(), 'mamori-workbench-'));
  const config = parseConfig({
    ...serverSettings(dataDir),
    audit: { checkpointEverySeconds: 1 },
    selection: { specialRangeOverrides: DEMO_SPECIAL_RANGE_OVERRIDES, kekBesideData: true },
    collector: { listeners: [{ host: '127.0.0.1', port: 0 }] },
  });
  const logger = createLogger({ level: 'warn' });
  let pipeline: Pipeline | undefined;
  let collector: UdpCollector | undefined;
  // As `mamori demo` runs: the pipeline and the collector inside the server, the demo's traffic sent over UDP.
  server = await startServer(config, { logger, components: (core, metrics) => {
    pipeline = createPipeline(core, { logger, metrics });
    const collectors = collectorComponents(config, metrics, pipeline.sink, logger);
    collector = collectors[0] as UdpCollector;
    return [pipeline.component, ...collectors];
  } });
  await seedDemo(server.core);
  await server.core.checkpointer.checkpointNow();
  const listener = collector!.stats().listeners[0]!;
  await sendDemoTraffic(server.core, { host: '127.0.0.1', port: listener.port, pipeline: pipeline!, softflowd: false });
  // Enough findings for more than one page of the queue: scans from 40 documentation addresses.
  const now = Date.now();
  await server.core.analysis.recordFindings(systemContext('test'), Array.from({ length: 40 }, (_, i) => ({
    kind: 'scan-horizontal' as const, subject: { kind: 'address' as const, value: `192.0.2.${i + 1}` }, level: (i % 3 === 0 ? 'suspect' : 'info') as 'suspect' | 'info',
    score: 0.3 + i / 100, scoreDetail: { method: 'test', components: {} }, evidence: {}, hosts: [], hostCount: i, firstSeen: now - 3_600_000, lastSeen: now - i * 60_000, bases: [],
  })));
  const analyst = systemContext('test');
  const beacon = (await server.core.analysis.listFindings(analyst, { kind: 'beacon', subject: C2 })).items[0];
  expect(beacon, 'the demo traffic makes a beacon finding').toBeDefined();
  beaconId = beacon!.id;
  // The ministry escalates the demo's overdue deadlines with a note, so the NCO's inbox holds escalations worded from codes.
  const login = await fetch(`${server.address}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ministry', password: 'demo-ministry-pass' }) });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const inbox = (await (await fetch(`${server.address}/api/v1/inbox`, { headers: { cookie } })).json()) as { items: { kind: string; reportId: string | null; message: { params: { deadline?: string } } | null }[] };
  const overdue = inbox.items.filter((i) => i.kind === 'escalation' && i.reportId !== null && i.message?.params.deadline !== undefined);
  expect(overdue.length, 'the demo has overdue deadlines the ministry was told of').toBeGreaterThan(0);
  for (const i of overdue.slice(0, 2)) {
    const res = await fetch(`${server.address}/api/v1/incidents/${i.reportId!}/escalations`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ deadline: i.message!.params.deadline, note: 'Please file at once.' }) });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
  }
}, 240_000);

afterAll(async () => {
  await server?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

for (const lang of ['ja', 'en'] as const) {
  const T = lang === 'ja' ? ja : en;
  describe(`the workbench in ${lang === 'ja' ? 'Japanese' : 'English'}`, () => {
    let context: BrowserContext;
    let page: Page;
    let profile: string;
    const problems: string[] = [];
    const base = () => server.address;
    const snap = async (name: string) => page.screenshot({ path: join(SHOTS, `${lang}-${name}.png`), fullPage: true });
    const heading = (text: string) => page.getByRole('heading', { level: 1, name: text });
    const signIn = async (user: string) => {
      await context.clearCookies();
      const res = await page.request.post(`${base()}/api/v1/auth/login`, { data: { username: user, password: PASSWORDS[user] ?? `demo-${user}-pass` } });
      expect(res.status(), `sign-in of ${user}`).toBe(200);
    };
    /**
     * The page's visible text: `all` (ids are looked for everywhere, values included) and `words`, the text nodes outside
     * code and values (patterns, addresses and hashes are data, not words), each node on its own line.
     */
    const visibleText = () => page.evaluate<{ all: string; words: string[] }>(`(() => {
      const words = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
        const el = n.parentElement;
        if (el === null || el.closest('code, pre, kbd, samp, script, style, .sr-only, [translate="no"]') !== null) continue;
        if (el.closest('details:not([open])') !== null && el.closest('summary') === null) continue;
        if (el.getClientRects().length === 0) continue;
        const text = n.textContent.trim();
        if (text !== '') words.push(text);
      }
      return { all: document.body.innerText, words };
    })()`);

    beforeAll(async () => {
      profile = mkdtempSync(join(tmpdir(), `mamori-workbench-chromium-${lang}-`));
      context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, locale: lang === 'ja' ? 'ja-JP' : 'en-US', timezoneId: 'Europe/London', viewport: { width: 1280, height: 900 }, acceptDownloads: true });
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console on ${page.url()}: ${m.text()}`); });
      // A signed-out visit asks who is signed in without a failed request (no 401 for /auth/me or /auth/session).
      page.on('response', (r) => { if (r.status() === 401 && r.url().includes('/api/v1/auth/')) problems.push(`401 from ${r.url()} on ${page.url()}`); });
      await page.goto(`${base()}/app/transparency`);
      await page.evaluate(`localStorage.setItem('mamori.lang', '${lang}')`);
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      rmSync(profile, { recursive: true, force: true });
    });

    it('walks every role\'s main screens: no raw id, no English code in Japanese, no console error', async () => {
      const found: string[] = [];
      const check = async (where: string) => {
        // Wait until the page's data has loaded (no spinner left).
        await page.locator('h1').first().waitFor();
        await expect.poll(() => page.locator('.state.loading').count(), { timeout: 20_000 }).toBe(0);
        const { all, words } = await visibleText();
        const id = ID.exec(all);
        if (id !== null) found.push(`${where}: id ${id[0]} in “…${all.slice(Math.max(0, id.index - 40), id.index + 40).replace(/\s+/g, ' ')}…”`);
        if (lang === 'ja') {
          // snake_case and camelCase anywhere; kebab-case only as a whole text (a code in a cell), not inside prose people wrote.
          const code = words.find((w) => CODE.test(w) || KEBAB.test(w));
          if (code !== undefined) found.push(`${where}: English code in “${code.slice(0, 120)}”`);
          const phrase = words.find((w) => SERVER_PHRASES.test(w));
          if (phrase !== undefined) found.push(`${where}: the server's English in “${phrase.slice(0, 120)}”`);
        }
      };
      await context.clearCookies();
      await page.goto(`${base()}/app/transparency`);
      await check('public /app/transparency');
      await snap('public-transparency');
      for (const { user, paths } of WALK) {
        await signIn(user);
        for (const p of paths) {
          const path = p === '@finding' ? `/app/findings/${beaconId}` : p;
          await page.goto(`${base()}${path}`);
          await check(`${user} ${path}`);
          const name = p === '@finding' ? 'finding' : p.replace(/^\/app\/?/, '').replace(/[^a-z0-9]+/gi, '-') || 'home';
          await snap(`${user}-${name}`);
          // A list's first entry too (a measure with its history, a request with its votes, an approval, a report, a notification).
          if (!/^\/app\/(incidents|notifications|measures|requests|approvals|cases)$/.test(path)) continue;
          const links = page.locator(`main a[href^="${path}/"]:not([href$="/new"])`);
          if ((await links.count()) === 0) continue;
          const first = (await links.first().getAttribute('href'))!;
          await page.goto(`${base()}${first}`);
          await check(`${user} ${first}`);
          await snap(`${user}-${name}-detail`);
        }
      }
      expect(found, found.join('\n')).toEqual([]);
      expect(problems, problems.join('\n')).toEqual([]);
    }, 600_000);

    it('pivots from a finding\'s foreign address to its entity page and flows chart, zooms, and sorts and pages the findings', async () => {
      await signIn('analyst');
      await page.goto(`${base()}/app/findings/${beaconId}`);
      await heading(T['findings.detail']).waitFor();
      await page.getByRole('link', { name: C2 }).first().click();
      await heading(`${T['entity.title'].replace('{kind}', T['entityKind.address'])} ${C2}`).waitFor();
      await expect.poll(() => page.getByRole('link', { name: T['findingKind.beacon'] }).count()).toBeGreaterThan(0);
      // Flows over time for the address, with the purpose stated (audited), over the last 6 hours.
      await page.getByRole('button', { name: T['fot.preset.6h'] }).click();
      await page.getByLabel(T['flows.purpose']).fill('Pivot from the beacon finding to the flows of its C2 server');
      await page.getByRole('button', { name: T['fot.show'] }).click();
      const plot = page.locator('.u-over');
      await plot.waitFor();
      await page.getByText(T['fot.chart'].replace('{step}', T['fot.step.300000'])).waitFor();
      await snap('entity-flows');
      // Zoom: drag across a part of the chart; the range (in the URL) narrows and the chart redraws per minute.
      await plot.scrollIntoViewIfNeeded();
      const box = (await plot.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.55, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.95, box.y + box.height / 2, { steps: 10 });
      await page.mouse.up();
      await expect.poll(() => new URL(page.url()).searchParams.get('from')).not.toBeNull();
      const u = new URL(page.url());
      const span = Date.parse(u.searchParams.get('to')!) - Date.parse(u.searchParams.get('from')!);
      expect(span).toBeLessThan(6 * 3_600_000 * 0.5);
      await page.getByText(T['fot.chart'].replace('{step}', T['fot.step.60000'])).waitFor();
      await expect.poll(() => page.locator('.u-over').count()).toBe(1);
      await snap('entity-zoomed');

      // The findings queue: sort by score (ascending, then descending) and page through it.
      await page.goto(`${base()}/app/findings`);
      await heading(T['findings.title']).waitFor();
      const table = page.getByRole('table');
      const sortByScore = () => table.getByRole('button', { name: new RegExp(`^${T['findings.score']}`) }).click();
      const scores = async () => (await table.locator('tbody tr td:nth-child(4)').allInnerTexts()).map(Number);
      // Numbers sort highest first on the first click, then lowest first.
      await sortByScore();
      await expect.poll(() => new URL(page.url()).searchParams.get('sort')).toBe('score.desc');
      const desc = await scores();
      expect(desc.length).toBe(25);
      expect([...desc].sort((a, b) => b - a)).toEqual(desc);
      const status = page.getByRole('navigation', { name: T['table.pages'].replace('{caption}', T['findings.title']) }).getByRole('status');
      expect(await status.innerText()).toMatch(/1.25/);
      await page.getByRole('button', { name: T['table.next'] }).click();
      await expect.poll(() => new URL(page.url()).searchParams.get('page')).toBe('2');
      const second = await scores();
      expect(second.length).toBeGreaterThan(0);
      expect(Math.max(...second)).toBeLessThanOrEqual(Math.min(...desc));
      expect(await status.innerText()).toMatch(/26/);
      await sortByScore();
      await expect.poll(() => new URL(page.url()).searchParams.get('sort')).toBe('score.asc');
      expect(new URL(page.url()).searchParams.get('page')).toBeNull();
      const asc = await scores();
      expect([...asc].sort((a, b) => a - b)).toEqual(asc);
      expect(asc[0]).toBeLessThanOrEqual(Math.min(...second));
      await page.getByRole('button', { name: T['table.next'] }).click();
      await expect.poll(() => new URL(page.url()).searchParams.get('page')).toBe('2');
      const ascSecond = await scores();
      // The sorted, paged view is in the URL: reloading it shows the same page.
      await page.reload();
      await heading(T['findings.title']).waitFor();
      expect(await scores()).toEqual(ascSecond);
      await snap('findings-sorted-page2');
      expect(problems, problems.join('\n')).toEqual([]);
    }, 180_000);

    it('a council member searches the intel and exports a bundle that `mamori leak trace` attributes to them', async () => {
      await signIn('council');
      await page.goto(`${base()}/app/intel`);
      await heading(T['intel.title']).waitFor();
      const rows = page.getByRole('table').locator('tbody tr');
      await expect.poll(() => rows.count()).toBeGreaterThan(2);
      await page.getByLabel(T['table.search'], { exact: true }).fill('203.0.113');
      await expect.poll(() => rows.count()).toBe(1);
      await rows.first().getByRole('checkbox').check();
      await page.getByLabel(T['table.search'], { exact: true }).fill('');
      await page.getByLabel(T['intel.type'], { exact: true }).selectOption('indicator');
      await expect.poll(() => rows.count()).toBeGreaterThan(1);
      await rows.nth(1).getByRole('checkbox').check();
      await snap('council-intel-selected');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: T['intel.export'].replace('{n}', '2') }).click()]);
      const file = join(dataDir, `leaked-${lang}.json`);
      await download.saveAs(file);
      const bundle = JSON.parse(readFileSync(file, 'utf8')) as { type: string; objects: { type: string }[] };
      expect(bundle.type).toBe('bundle');
      expect(bundle.objects).toHaveLength(2);
      // As if it had leaked: the command on the host names the member whose copy it is.
      writeFileSync(file, JSON.stringify(bundle));
      const traced = await mamori(['leak', 'trace', '--json', file], { MAMORI_DATA_DIR: dataDir });
      expect(traced.code, traced.out).toBe(0);
      const report = JSON.parse(traced.out.slice(traced.out.indexOf('{'))) as { verdict: { username: string; conclusive: boolean }[] };
      expect(report.verdict[0]).toMatchObject({ username: 'council', conclusive: true });
      expect(problems, problems.join('\n')).toEqual([]);
    }, 180_000);
  });
}
