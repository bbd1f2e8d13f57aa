// The console in a real browser: Debian's Chromium, headless, driven by playwright-core,
// against a real relay on 127.0.0.1 with a real SQLite file and a real receiver.
// Screenshots of every page go to test-output/console/ (git-ignored);
// CONSOLE_SCREENSHOTS=update also refreshes the two committed ones in test/console/screenshots/.
import t, { type Test } from 'tap';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildCallback } from '../../src/paygate/simulator.js';
import type { MerchantKeys } from '../../src/paygate/types.js';
import { SHOP } from '../helpers/paygate.js';
import { needTool } from '../helpers/tools.js';
import { newSecret, startReceiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, baseConfig, startRelay, tmpDir, type Harness } from '../helpers/relay.js';

const OUT = fileURLToPath(new URL('../../test-output/console/', import.meta.url));
const COMMITTED = fileURLToPath(new URL('./screenshots/', import.meta.url));

const CHROMIUM = needTool(t, 'chromium');
if (CHROMIUM) t.test('the console in a browser', { timeout: 90_000 }, main);

const NEW_SHOP: MerchantKeys = { id: 'ShopNew', encryption: 'blowfish', keys: [{ blowfish: Buffer.from('NEW-shop-bf-key'), hmac: Buffer.from('NEW-shop-hmac-key') }] };

async function postCallback(base: string, merchant: MerchantKeys, spec: Record<string, string>, kind = 'mandate') {
  const cb = buildCallback({ code: '00000000', transId: 'x', ...spec }, merchant);
  const res = await fetch(`${base}/paygate/notify/${kind}`, { method: 'POST', headers: { 'content-type': cb.contentType }, body: new Uint8Array(cb.body) });
  return res.status;
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function main(t: Test) {
  const outer = t;
  mkdirSync(OUT, { recursive: true });
  const dir = tmpDir(t);
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  // The first answer is hostile markup; later ones are whatever the test says.
  let answer: { status: number; body: string } = { status: 200, body: '<script>alert("receiver")</script>accepted' };
  rx.behave(() => answer);
  const config = (merchants?: unknown[]) => baseConfig(dir, {
    endpoints: [
      { id: 'erp', url: rx.url, secret, retryScheduleMs: [0, 600_000] },
      // Answers 404 (wrong path on the receiver) and has a single try: every delivery becomes a dead letter.
      { id: 'crm', url: rx.url.replace('/hook', '/gone'), secret, retryScheduleMs: [0], events: ['mandate.*'] },
    ],
    ...(merchants ? { merchants } : {}),
  });

  let h: Harness = await startRelay(t, config());
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  const alerts: string[] = [];
  const cspViolations: string[] = [];
  const newPage = async (ctx: BrowserContext) => {
    const page = await ctx.newPage();
    page.on('dialog', (d) => {
      if (d.type() === 'confirm') return void d.accept();
      alerts.push(d.message());
      return void d.dismiss();
    });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    return page;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: `${OUT}${name}.png`, fullPage: true });

  // Traffic: a mandate for order 991 with hostile UserData, some ordinary events, one callback from a merchant we lack the key for.
  const hostile = '<img src=x onerror=alert(document.cookie)>';
  t.equal(await postCallback(h.url, SHOP, { transId: 'ORDER-991', mandateId: 'MDT-991', userData: hostile }), 200);
  for (let i = 0; i < 6; i++) t.equal(await postCallback(h.url, SHOP, { transId: `ORDER-${100 + i}` }, i % 2 ? 'OC' : 'mandate'), 200);
  t.equal(await postCallback(h.url, NEW_SHOP, { transId: 'ORDER-NEW-1' }), 400, 'unknown merchant: quarantined');
  // No Data at all: quarantined for a reason no fix can change.
  const noData = await fetch(`${h.url}/paygate/notify/mandate`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'MerchantID=ShopTest&Len=12' });
  t.equal(noData.status, 400, 'missing Data: quarantined');
  await rx.waitFor((r) => r.filter((x) => x.event.data.transId === 'ORDER-991').length >= 2);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await newPage(ctx);

  await t.test('wrong token refused, then login', async (t) => {
    await page.goto(`${h.url}/console/events`);
    t.match(page.url(), /\/console\/login\?next=%2Fconsole%2Fevents$/, 'a page without a session sends to the login');
    await shot(page, 'login');
    await page.fill('[data-testid=token]', 'not-a-token-not-a-token');
    const refused = page.waitForResponse((r) => r.url().endsWith('/console/login') && r.request().method() === 'POST');
    await page.click('[data-testid=login]');
    t.equal((await refused).status(), 401);
    t.equal(await page.textContent('[data-testid=login-error]'), 'That token is not valid.');
    await page.fill('[data-testid=token]', ADMIN_TOKEN);
    await page.click('[data-testid=login]');
    await page.waitForURL(/\/console\/events$/);
    t.equal(await page.textContent('[data-testid=role]'), 'operator');
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === 'pgr_console')!;
    t.ok(session.httpOnly, 'HttpOnly');
    t.equal(session.sameSite, 'Strict');
  });

  let eventUrl = '';
  await t.test('find the event by TransID, open it, see its attempts; redeliver to a failing receiver', async (t) => {
    await page.goto(`${h.url}/console`);
    await page.waitForSelector('[data-testid=card-callbacks]');
    await shot(page, 'overview');
    await page.click('nav >> text=Events');
    await page.fill('[data-testid=f-transId]', 'ORDER-991');
    const started = Date.now();
    await page.click('[data-testid=search]');
    await page.waitForURL(/transId=ORDER-991/);
    t.equal(await page.locator('[data-testid=event-row]').count(), 1, 'one event for the TransID');
    t.match(await page.textContent('[data-testid=server-time]'), /server time [\d.]+ ms, query [\d.]+ ms/);
    await shot(page, 'events');
    await page.click('[data-testid=event-link]');
    eventUrl = page.url();
    t.match(eventUrl, /\/console\/events\/evt_[0-9A-Z]{26}$/);
    const erp = page.locator('[data-testid=delivery-erp]');
    await erp.locator('[data-testid=attempt-row]').first().waitFor();
    t.equal(await erp.locator('[data-testid=attempt-row]').count(), 1, 'one attempt so far');
    t.match(await erp.locator('[data-testid=attempt-row]').first().textContent(), /200/);

    // Hostile data is text: the UserData and the receiver's <script> answer are on the page as characters.
    t.match(await page.textContent('[data-testid=envelope]'), hostile, 'UserData shown as text in the envelope');
    t.match(await page.textContent('[data-testid=decoded]'), hostile, 'UserData shown as text in the decoded fields');
    t.equal(await erp.locator('[data-testid=answer]').first().textContent(), '<script>alert("receiver")</script>accepted', 'the answer is shown as text');
    t.equal(await page.locator('main img').count(), 0, 'no element was made from the UserData');
    t.equal(await page.locator('script:not([src])').count(), 0, 'no inline script on the page');
    const decoded = (await page.textContent('[data-testid=decoded]')) ?? '';
    t.notMatch(decoded, /(^|\n)\s*mac\b/i, 'no MAC among the decoded fields');

    // The receiver now fails; redeliver and watch the new attempt arrive (live refresh).
    answer = { status: 500, body: 'ERP down for maintenance' };
    await page.click('[data-testid=redeliver-erp]');
    await page.waitForURL(/msg=redelivered/);
    t.match(await page.textContent('[data-testid=flash]'), 'Redelivery scheduled for erp.');
    await erp.locator('[data-testid=attempt-row]').nth(1).waitFor({ timeout: 15_000 });
    const second = (await erp.locator('[data-testid=attempt-row]').nth(1).textContent()) ?? '';
    t.match(second, /500/, 'the new attempt shows the 500');
    t.match(second, /ERP down for maintenance/, 'and the answer');
    t.match(second, /non_2xx/, 'and the error class');
    await shot(page, 'event-attempts');
    await page.locator('[data-testid=delivery-erp]').screenshot({ path: `${OUT}event-attempts-detail.png` });
  });

  await t.test('events list: the delivery status of each event', async (t) => {
    // ORDER-991 is a mandate: erp took it, crm (a 404, one try) made it a dead letter.
    await waitUntil(async () => (await h.relay.store.countDeadLetters({ endpointId: 'crm' })) === 4);
    await page.goto(`${h.url}/console/events`);
    const status = (transId: string) => page.locator('[data-testid=event-row]', { hasText: transId }).locator('[data-testid=delivery-status]');
    t.equal(await status('ORDER-991').getAttribute('data-status'), 'dead');
    t.equal((await status('ORDER-991').textContent())?.trim(), 'dead 1/2', 'the worst of its two endpoints');
    t.equal(await status('ORDER-991').getAttribute('title'), '2 endpoints: 1 retrying, 1 dead', 'every count on hover (erp retries after its 500)');
    t.equal(await status('ORDER-101').getAttribute('data-status'), 'delivered', 'an open position only erp takes');
    t.equal(await page.locator('th', { hasText: 'Delivery' }).count(), 1);
  });

  await t.test('time filters: ISO 8601 in UTC, typed with the keyboard, checked by the browser and the server', async (t) => {
    await page.goto(`${h.url}/console/events`);
    const all = await page.locator('[data-testid=event-row]').count();
    const since = page.locator('[data-testid=f-since]');
    t.equal(await since.getAttribute('type'), 'text', 'not datetime-local, which shows the locale format');
    t.equal(await since.getAttribute('placeholder'), 'YYYY-MM-DDTHH:MMZ');
    t.equal(await page.textContent('#utc-format'), 'UTC, ISO 8601: YYYY-MM-DDTHH:MM[:SS]Z');
    await since.focus();
    await page.keyboard.press('Tab');
    t.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name), 'until', 'Tab goes from From to Until');
    await since.focus();
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString().slice(0, 16);
    await page.keyboard.type(hourAgo);
    await page.keyboard.press('Enter');
    await page.waitForURL(/since=/);
    t.equal(await since.inputValue(), `${hourAgo}Z`, 'read as UTC and written back with its Z');
    t.equal(await page.locator('[data-testid=event-row]').count(), all, 'every event of the last hour');

    await since.fill('01/31/2026, 10:00 AM');
    t.notOk(await since.evaluate((el: HTMLInputElement) => el.checkValidity()), 'a locale-formatted time is refused by the browser');
    await page.goto(`${h.url}/console/events?since=${encodeURIComponent('01/31/2026, 10:00 AM')}`);
    t.match(await page.textContent('[data-testid=flash]'), 'Filter not applied: since must be a UTC time as YYYY-MM-DDTHH:MM[:SS]Z', 'and by the server');
    await page.goto(`${h.url}/console/events?until=${encodeURIComponent('2020-01-01T12:00+02:00')}`);
    t.equal(await page.locator('[data-testid=f-until]').inputValue(), '2020-01-01T10:00Z', 'an explicit offset shows as UTC');
    t.equal(await page.locator('[data-testid=event-row]').count(), 0);
    await shot(page, 'events-time-filter');
  });

  await t.test('a viewer reads but cannot redeliver; a POST without the CSRF token is refused', async (t) => {
    const vctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const v = await newPage(vctx);
    await v.goto(`${h.url}/console/login`);
    await v.fill('[data-testid=token]', VIEWER_TOKEN);
    await v.click('[data-testid=login]');
    await v.waitForURL(/\/console$/);
    t.equal(await v.textContent('[data-testid=role]'), 'viewer');
    await v.goto(eventUrl);
    await v.locator('[data-testid=delivery-erp]').waitFor();
    t.equal(await v.locator('[data-testid=redeliver-erp]').count(), 0, 'no redeliver button for a viewer');
    const csrf = await v.getAttribute('input[name=_csrf]', 'value');
    t.ok(csrf, 'the viewer has a CSRF token (for logout)');
    const before = rx.received.length;
    const refused = await v.request.post(`${eventUrl}/redeliver`, { form: { _csrf: csrf!, endpoint: 'erp' }, maxRedirects: 0 });
    t.equal(refused.status(), 403, "the viewer's POST is refused");
    t.match(await refused.text(), /viewer/);
    await vctx.close();

    const noCsrf = await page.request.post(`${eventUrl}/redeliver`, { form: { endpoint: 'erp' }, maxRedirects: 0 });
    t.equal(noCsrf.status(), 403, "an operator's POST without the CSRF token is refused");
    const wrongCsrf = await page.request.post(`${eventUrl}/redeliver`, { form: { endpoint: 'erp', _csrf: 'forged' }, maxRedirects: 0 });
    t.equal(wrongCsrf.status(), 403, 'and with a wrong one');
    await new Promise((r) => setTimeout(r, 300));
    t.equal(rx.received.length, before, 'nothing was sent');
  });

  await t.test('dead letters: newest death first; bulk redeliver says how many first', async (t) => {
    // The oldest dead letter (ORDER-991, the first event) goes out again, dies again, and is now the newest.
    const eventId = eventUrl.split('/').pop()!;
    await page.goto(eventUrl);
    await page.click('[data-testid=redeliver-crm]');
    await page.waitForURL(/msg=redelivered/);
    await waitUntil(async () => (await h.relay.store.listDeadLetters({ endpointId: 'crm' }, 1)).items[0]?.eventId === eventId);
    await page.goto(`${h.url}/console/dead-letters?endpoint=crm`);
    t.equal(await page.locator('[data-testid=dead-row] a').first().textContent(), eventId, 'the letter that died last is first');
    const times = await page.locator('[data-testid=dead-row] time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')!));
    t.same(times, [...times].sort().reverse(), 'sorted by dead since, newest first');
    const rows = await page.locator('[data-testid=dead-row]').count();
    t.ok(rows >= 1, `crm has dead letters (${rows})`);
    await shot(page, 'dead-letters');
    await page.click('[data-testid=bulk-redeliver]');
    t.equal(await page.textContent('[data-testid=dry-run-count]'), String(rows), 'the count is shown before sending');
    await shot(page, 'dead-letters-confirm');
    await page.click('[data-testid=confirm-redeliver]');
    await page.waitForURL(/msg=dlq/);
    t.match(await page.textContent('[data-testid=flash]'), `${rows} dead letter`);
  });

  await t.test('endpoints: disable and enable from the page, send a test event', async (t) => {
    await page.goto(`${h.url}/console/endpoints`);
    await page.click('[data-testid=disable-erp]');
    await page.waitForURL(/msg=disabled/);
    t.match(await page.textContent('[data-testid=endpoint-erp]'), 'disabled (operator)');
    t.ok(h.relay.dispatcher.isDisabled('erp'), 'the dispatcher stopped erp');
    await page.click('[data-testid=enable-erp]');
    await page.waitForURL(/msg=enabled/);
    t.match(await page.textContent('[data-testid=endpoint-erp] .badge'), 'enabled');
    t.notOk(h.relay.dispatcher.isDisabled('erp'), 'the dispatcher runs erp again');
    await shot(page, 'endpoints');

    answer = { status: 204, body: '' };
    await page.fill('[data-testid=endpoint-erp] input[name=message]', 'hello from the console test');
    await page.click('[data-testid=test-erp]');
    await page.waitForURL(/msg=test-sent/);
    await rx.waitFor((r) => r.some((x) => x.event.type === 'relay.test'));
    const got = rx.received.find((x) => x.event.type === 'relay.test')!;
    t.ok(got.verified, 'the test event is signed like every event');
    t.same(got.event.data, { message: 'hello from the console test' });
    await page.locator('[data-testid=delivery-erp] [data-testid=attempt-row]').first().waitFor({ timeout: 10_000 });
    t.match(await page.textContent('[data-testid=delivery-erp]'), /204/);
  });

  await t.test('quarantine: add the key, restart, reprocess from the page, the event appears', async (t) => {
    await page.goto(`${h.url}/console/quarantine`);
    t.equal(await page.locator('[data-testid=quarantine-row]').count(), 2);
    const fixable = page.locator('[data-testid=quarantine-row]', { hasText: 'unknown_merchant' });
    const hopeless = page.locator('[data-testid=quarantine-row]', { hasText: 'missing_data' });
    t.equal(await fixable.locator('[data-testid=reprocess]').count(), 1, 'unknown_merchant: Reprocess (add the merchant, then it verifies)');
    t.equal(await hopeless.locator('[data-testid=reprocess]').count(), 0, 'missing_data: no Reprocess button');
    t.equal(await hopeless.locator('[data-testid=not-reprocessable]').textContent(), 'no fix can help');
    t.match(await hopeless.locator('[data-testid=not-reprocessable]').getAttribute('title'), 'no Data', 'the reason why, on hover');
    await shot(page, 'quarantine');

    // The key arrives in the configuration; the relay restarts on the same SQLite file.
    await h.close();
    const merchants = [...(baseConfig(dir).merchants as unknown[]), { id: 'ShopNew', keys: [{ blowfish: 'NEW-shop-bf-key', hmac: 'NEW-shop-hmac-key' }] }];
    const raw = config(merchants);
    h = await startRelay(outer, raw); // lives until the end of the whole test

    await page.goto(`${h.url}/console/quarantine`);
    t.match(page.url(), /\/console\/quarantine$/, 'the session outlives the restart (sessions are in storage)');
    await page.click('[data-testid=reprocess]');
    await page.waitForURL(/msg=reprocessed/);
    t.match(await page.textContent('[data-testid=flash]'), 'the callback verified');
    t.match(await page.textContent('[data-testid=envelope]'), 'ORDER-NEW-1');
    await page.goto(`${h.url}/console/events?transId=ORDER-NEW-1`);
    t.equal(await page.locator('[data-testid=event-row]').count(), 1, 'the event is found by its TransID');
    await page.goto(`${h.url}/console/quarantine`);
    t.equal(await page.locator('[data-testid=quarantine-row]').count(), 1, 'only the callback no fix can help is left');
    t.equal(await page.locator('[data-testid=reprocess]').count(), 0, 'without a button');
    t.equal(await page.locator('[data-testid=reprocess-all]').count(), 0, 'and no bulk action that could only skip it');
    await page.goto(`${h.url}/console`);
    await shot(page, 'overview-after');
  });

  await t.test('420 px wide: the header wraps, no page scrolls sideways', async (t) => {
    const wide = await page.evaluate(() => document.querySelector('header.top')!.getBoundingClientRect().height);
    t.ok(wide <= 60, `at 1280 px the header is one line (${wide} px)`);
    await page.setViewportSize({ width: 420, height: 900 });
    const pages = ['/console', '/console/events', new URL(eventUrl).pathname, '/console/quarantine', '/console/conflicts', '/console/dead-letters', '/console/endpoints', '/console/erasures', '/console/storage'];
    for (const path of pages) {
      await page.goto(`${h.url}${path}`);
      // A string, so the bundler's helpers (keepNames) do not leak into the page.
      const m = (await page.evaluate(`(() => {
        const doc = document.documentElement;
        const wide = [...document.querySelectorAll('main *')].filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1)
          .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '')).slice(0, 5);
        return {
          overflow: doc.scrollWidth - doc.clientWidth,
          wide,
          header: [...document.querySelectorAll('header.top nav a, header.top .who button, header.top .brand')].map((el) => {
            const r = el.getBoundingClientRect();
            return [el.textContent, r.left >= 0 && r.right <= doc.clientWidth && r.width > 0];
          }),
        };
      })()`)) as { overflow: number; wide: string[]; header: [string, boolean][] };
      t.equal(m.overflow, 0, `${path}: no horizontal scroll${m.overflow ? ` (too wide: ${m.wide.join(', ')})` : ''}`);
      t.same(m.header.filter(([, ok]) => !ok).map(([text]) => text), [], `${path}: every header item is on screen`);
    }
    await page.goto(`${h.url}/console/events`);
    await shot(page, 'narrow-events');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await t.test('logout ends the session', async (t) => {
    await page.click('[data-testid=logout]');
    await page.waitForURL(/\/console\/login\?msg=logged-out/);
    await page.goto(`${h.url}/console/events`);
    t.match(page.url(), /\/console\/login/);
  });

  t.same(alerts, [], 'no script from data ever ran');
  t.same(cspViolations, [], 'no CSP violation: the pages need nothing the policy forbids');
  if (process.env.CONSOLE_SCREENSHOTS === 'update') {
    mkdirSync(COMMITTED, { recursive: true });
    copyFileSync(`${OUT}overview-after.png`, `${COMMITTED}overview.png`);
    copyFileSync(`${OUT}event-attempts.png`, `${COMMITTED}event-attempts.png`);
  }
}
