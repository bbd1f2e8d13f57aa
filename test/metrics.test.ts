// /metrics against a real relay on 127.0.0.1 with real receivers: the series an
// operator alerts on, in both exposition formats, checked by the reference tools
// (promtool for the Prometheus text format, the OpenMetrics project's own Python
// parser for OpenMetrics).
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { metric, notify, sleep, until } from './delivery/_lib.js';
import { newSecret, startReceiver } from './helpers/receiver.js';
import { baseConfig, startRelay, tmpDir } from './helpers/relay.js';
import { freshSchema, pgUrl, sharePostgres } from './helpers/pg.js';
import { needTool } from './helpers/tools.js';

// What Prometheus 2.x sends when it scrapes.
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const scrape = async (url: string, accept?: string) => {
  const res = await fetch(`${url}/metrics`, { headers: accept ? { accept } : {} });
  return { type: res.headers.get('content-type') ?? '', body: await res.text() };
};

/** Parse OpenMetrics text with prometheus_client's strict parser; null when accepted, else its error. */
function openMetricsError(python: string, text: string): string | null {
  const r = spawnSync(python, ['-c', [
    'import sys',
    'from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse',
    'families = list(parse(sys.stdin.read()))',
    'print(len(families))',
  ].join('\n')], { input: text, encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
}

t.test('without listen.tls there is no certificate expiry series (an alert on 0 would fire behind nginx)', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)));
  for (const accept of [undefined, PROMETHEUS_ACCEPT]) {
    const { body } = await scrape(h.url, accept);
    t.match(body, /^paygate_relay_ready 1$/m, 'other gauges are there');
    t.notMatch(body, /paygate_relay_tls_certificate_expiry_timestamp_seconds/, `absent (${accept ? 'OpenMetrics' : 'text'})`);
  }
});

t.test('OpenMetrics when the scraper asks; both formats pass the reference parsers', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t), { endpoints: [{ id: 'erp', url: 'http://127.0.0.1:9/hook', secret: newSecret(), enabled: false }] }));
  t.equal((await notify(h.url)).status, 200);

  const text = await scrape(h.url);
  t.match(text.type, /^text\/plain; version=0\.0\.4/, 'plain scrape: Prometheus text format');
  const om = await scrape(h.url, PROMETHEUS_ACCEPT);
  t.match(om.type, /^application\/openmetrics-text; version=1\.0\.0/, 'Prometheus scrape: OpenMetrics');
  t.match(om.body, /\n# EOF\n$/, 'ends with # EOF');
  t.match(om.body, /^# TYPE paygate_relay_dead_letters counter$/m, 'the dead-letter counter is its own family');
  t.match(om.body, /^# TYPE paygate_relay_dead_letter_deliveries gauge$/m, 'the dead-letter gauge another');
  t.match(om.body, /^paygate_relay_callbacks_total\{channel="notify",result="accepted",reason="none"\} 1$/m, 'counter samples keep _total');
  t.equal((await scrape(h.url, 'text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5')).type.split(';')[0], 'text/plain', 'text preferred: text');
  // The same numbers in both.
  t.match(text.body, /^paygate_relay_callbacks_total\{channel="notify",result="accepted",reason="none"\} 1$/m);

  t.test('promtool check metrics accepts the text format', async (t) => {
    const promtool = needTool(t, 'promtool');
    if (!promtool) return;
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text.body, encoding: 'utf8' });
    const problems = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
    t.notOk(problems.some((l) => /error|parsing/i.test(l)), `parsed: ${problems.join('; ')}`);
    // prom-client's own default gauges (nodejs_active_*_total) break a naming lint; ours must not.
    t.same(problems.filter((l) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(l)), [], 'no lint finding on our metrics');
    const broken = spawnSync(promtool, ['check', 'metrics'], { input: '# TYPE x gauge\nx{a="1" 1\n', encoding: 'utf8' });
    t.not(broken.status, 0, 'and promtool does refuse a broken exposition');
  });

  t.test('the OpenMetrics parser accepts the OpenMetrics format (and would refuse a clash)', async (t) => {
    const python = needTool(t, 'python3-prometheus-client');
    if (!python) return;
    t.equal(openMetricsError(python, om.body), null, 'accepted');
    const clash = '# TYPE x counter\nx_total 1\n# TYPE x gauge\nx 1\n# EOF\n';
    t.match(openMetricsError(python, clash), /Clashing name|metadata after samples/, 'a gauge beside a counter of the same family is refused');
  });
});

t.test('delivery, queue, storage and quarantine metrics from real traffic', async (t) => {
  const secret = newSecret();
  const ok = await startReceiver(t, secret, '/ok');
  const flaky = await startReceiver(t, secret, '/flaky');
  flaky.behave(() => ({ status: 500, body: 'down' }));
  const slow = await startReceiver(t, secret, '/slow');
  slow.behave(() => ({ status: 200, hangMs: 30_000 }));
  const ep = (id: string, url: string, extra: Record<string, unknown> = {}) => ({ id, url, secret, jitter: 0, timeoutMs: 60_000, ...extra });
  const h = await startRelay(t, baseConfig(tmpDir(t), {
    endpoints: [
      ep('ok', ok.url), ep('flaky', flaky.url, { retryScheduleMs: [0, 600_000] }), ep('slow', slow.url),
      ep('off', ok.url, { enabled: false }),
    ],
  }));

  t.equal(await metric(h.url, 'paygate_relay_quarantine_oldest_age_seconds', {}), 0, 'empty quarantine: 0');
  const bad = await fetch(`${h.url}/paygate/notify/OC`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'MerchantID=ShopTest&Len=3&Data=zz' });
  t.equal(bad.status, 400);
  const p = await notify(h.url);
  t.equal(p.status, 200);

  await ok.waitFor((r) => r.length === 1);
  await flaky.waitFor((r) => r.length === 1);
  await slow.waitFor((r) => r.length === 1);
  const split = (endpoint: string, state: string) => metric(h.url, 'paygate_relay_delivery_queue_deliveries', { endpoint, state });
  await until('the failed attempt recorded', async () => (await split('flaky', 'retry_waiting')) === 1);

  const events = (await (await fetch(`${h.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('paygate_relay_events_total{'));
  t.same(events.length, 1, 'one event series');
  t.match(events[0], /merchant="ShopTest"/, 'events carry the merchant');

  t.equal(await metric(h.url, 'paygate_relay_delivery_latency_seconds_count', { endpoint: 'ok' }), 1, 'end-to-end latency observed on the 2xx');
  t.equal(await metric(h.url, 'paygate_relay_delivery_latency_seconds_count', { endpoint: 'flaky' }), undefined, 'not on a failure');
  const e2e = await metric(h.url, 'paygate_relay_delivery_latency_seconds_sum', { endpoint: 'ok' });
  t.ok(e2e! > 0 && e2e! < 5, `latency ${e2e}s`);
  t.equal(await metric(h.url, 'paygate_relay_delivery_attempt_duration_seconds_count', { endpoint: 'ok', result: 'succeeded' }), 1);
  t.equal(await metric(h.url, 'paygate_relay_delivery_attempt_duration_seconds_count', { endpoint: 'flaky', result: 'failed' }), 1);

  t.equal(await split('flaky', 'pending'), 0);
  t.equal(await split('slow', 'in_flight'), 1, 'the hanging request is in flight');
  t.equal(await split('off', 'pending'), 1, 'a disabled endpoint\'s delivery waits untried');
  t.equal(await split('ok', 'pending'), 0);
  t.equal(await metric(h.url, 'paygate_relay_delivery_queue_depth', { endpoint: 'flaky' }), 1, 'the split adds up to the depth');

  const commits = await metric(h.url, 'paygate_relay_storage_commit_duration_seconds_count', {});
  t.ok(commits! >= 1 && commits! <= 2, `${commits} intake commits for 2 callbacks`);

  await sleep(1100);
  const age = await metric(h.url, 'paygate_relay_quarantine_oldest_age_seconds', {});
  t.ok(age! >= 1 && age! < 30, `oldest quarantined callback is ${age}s old`);
});

t.test('PostgreSQL: the same queue split and quarantine age from its queries', async (t) => {
  await sharePostgres(t);
  const secret = newSecret();
  const flaky = await startReceiver(t, secret, '/flaky');
  flaky.behave(() => ({ status: 500 }));
  const h = await startRelay(t, baseConfig(tmpDir(t), {
    storage: pgUrl(freshSchema(t, 'metrics')),
    endpoints: [
      { id: 'flaky', url: flaky.url, secret, jitter: 0, retryScheduleMs: [0, 600_000] },
      { id: 'off', url: flaky.url, secret, enabled: false },
    ],
  }));
  await fetch(`${h.url}/paygate/notify/OC`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'MerchantID=ShopTest&Len=3&Data=zz' });
  t.equal((await notify(h.url)).status, 200);
  await until('the failed attempt recorded', async () => (await metric(h.url, 'paygate_relay_delivery_queue_deliveries', { endpoint: 'flaky', state: 'retry_waiting' })) === 1);
  t.equal(await metric(h.url, 'paygate_relay_delivery_queue_deliveries', { endpoint: 'off', state: 'pending' }), 1);
  t.equal(await metric(h.url, 'paygate_relay_delivery_queue_deliveries', { endpoint: 'flaky', state: 'in_flight' }), 0);
  t.equal(await metric(h.url, 'paygate_relay_quarantine_size', {}), 1);
  const age = await metric(h.url, 'paygate_relay_quarantine_oldest_age_seconds', {});
  t.ok(age! > 0 && age! < 30, `oldest quarantined ${age}s`);
});
