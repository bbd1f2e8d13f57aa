// OpenTelemetry against real components on 127.0.0.1: a small OTLP/HTTP
// collector that keeps what the relay exports, and a webhook receiver that
// checks the W3C traceparent of every delivery attempt.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { notify, until } from './delivery/_lib.js';
import { newSecret, startReceiver } from './helpers/receiver.js';
import { baseConfig, startRelay, tmpDir } from './helpers/relay.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
}

/** An OTLP/HTTP trace collector: POST /v1/traces with JSON, answered 200 {}. */
async function startCollector(t: { teardown(fn: () => Promise<void> | void): void }) {
  const spans: OtlpSpan[] = [];
  const resources: Record<string, unknown>[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        resources.push(Object.fromEntries(rs.resource.attributes.map((a) => [a.key, a.value.stringValue])));
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, spans, resources, contentTypes };
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? v.intValue ?? v.boolValue) : undefined;
};
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

t.test('spans for intake and every delivery attempt, exported over OTLP/HTTP; traceparent sent with each webhook', async (t) => {
  const collector = await startCollector(t);
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  rx.behave((_r, n) => (n === 1 ? { status: 503, body: 'busy' } : { status: 200 }));
  const h = await startRelay(t, baseConfig(tmpDir(t), {
    endpoints: [{ id: 'erp', url: rx.url, secret, retryScheduleMs: [0, 50], jitter: 0 }],
    tracing: { serviceName: 'relay-under-test', exportIntervalMs: 100, otlp: { url: collector.url } },
  }));

  const p = await notify(h.url);
  t.equal(p.status, 200);
  await rx.waitFor((r) => r.length === 2);
  const parents = rx.received.map((r) => String(r.headers.traceparent));
  for (const tp of parents) t.match(tp, TRACEPARENT, `traceparent ${tp}`);
  const [first, second] = parents.map((tp) => TRACEPARENT.exec(tp)!);
  t.equal(first![1], second![1], 'both attempts belong to one trace');
  t.not(first![2], second![2], 'each attempt has its own span id');
  t.ok(rx.received.every((r) => r.verified), 'the signature still verifies (traceparent is not signed content)');

  await until('spans exported', () => collector.spans.filter((s) => s.name === 'webhook.deliver').length === 2 && collector.spans.some((s) => s.name === 'paygate.callback'), 10_000);
  t.match(collector.contentTypes[0], /^application\/json/, 'OTLP/HTTP with JSON');
  t.equal(collector.resources[0]!['service.name'], 'relay-under-test');

  const callback = collector.spans.find((s) => s.name === 'paygate.callback')!;
  t.equal(callback.traceId, first![1], 'the callback span is in the same trace as the deliveries');
  t.equal(callback.kind, 2, 'server span');
  t.equal(attr(callback, 'paygate.result'), 'accepted');
  t.equal(attr(callback, 'paygate.merchant_id'), 'ShopTest');
  t.match(String(attr(callback, 'event.id')), /^evt_/);
  for (const name of ['paygate.decode', 'storage.commit']) {
    const child = collector.spans.find((s) => s.name === name);
    t.equal(child?.parentSpanId, callback.spanId, `${name} is a child of the callback span`);
    t.ok(BigInt(child!.startTimeUnixNano) >= BigInt(callback.startTimeUnixNano) && BigInt(child!.endTimeUnixNano) <= BigInt(callback.endTimeUnixNano) + 1_000_000n, `${name} lies within it`);
  }

  const attempts = collector.spans.filter((s) => s.name === 'webhook.deliver').sort((a, b) => Number(attr(a, 'webhook.attempt')) - Number(attr(b, 'webhook.attempt')));
  t.same(attempts.map((s) => s.spanId), [first![2], second![2]], 'the span ids are the ones the receiver got');
  t.ok(attempts.every((s) => s.parentSpanId === callback.spanId), 'attempts are children of the callback span');
  t.ok(attempts.every((s) => s.kind === 3), 'client spans');
  t.same(attempts.map((s) => attr(s, 'http.response.status_code')), [503, 200]);
  t.equal(attempts[0]!.status?.code, 2, 'the failed attempt has error status');
  t.not(attempts[1]!.status?.code, 2, 'the successful one does not');

  // A refused callback: an error span of its own, nothing delivered.
  const bad = await fetch(`${h.url}/paygate/notify/OC`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'MerchantID=ShopTest&Len=3&Data=zz' });
  t.equal(bad.status, 400);
  await until('quarantine span', () => collector.spans.some((s) => s.name === 'paygate.callback' && attr(s, 'paygate.result') === 'quarantined'), 10_000);
  const q = collector.spans.find((s) => attr(s, 'paygate.result') === 'quarantined')!;
  t.equal(q.status?.code, 2);
  t.match(q.status?.message, /invalid_hex|decrypt_failed|malformed/);
});

t.test('off by default: no traceparent, and the OpenTelemetry SDK is never loaded', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const h = await startRelay(t, baseConfig(tmpDir(t), { endpoints: [{ id: 'erp', url: rx.url, secret }] }));
  t.equal((await notify(h.url)).status, 200);
  await rx.waitFor((r) => r.length === 1);
  t.equal(rx.received[0]!.headers.traceparent, undefined, 'no traceparent without tracing');

  // In a fresh process (this one may have loaded the SDK for the test above): start a relay
  // from the build with and without `tracing`, then look for the SDK among the loaded modules.
  const relayJs = fileURLToPath(new URL('../dist/relay.js', import.meta.url));
  if (!existsSync(relayJs)) {
    t.fail('dist/relay.js is missing: run `npm run build` first (npm test does)');
    return;
  }
  const dir = tmpDir(t);
  const loaded = (tracing: boolean) => {
    const script = `
      import { createRequire } from 'node:module';
      const { Relay } = await import(${JSON.stringify(relayJs)});
      const { parseConfig } = await import(${JSON.stringify(fileURLToPath(new URL('../dist/config/load.js', import.meta.url)))});
      const raw = ${JSON.stringify(baseConfig(dir, { log: { level: 'silent' } }))};
      ${tracing ? `raw.tracing = { otlp: { url: 'http://127.0.0.1:9/v1/traces' } };` : ''}
      const relay = await Relay.create({ config: parseConfig(raw, {}), delivery: false });
      await relay.stop(0);
      // @opentelemetry/api itself is loaded by prom-client (exemplars) whenever it is installed; the SDK is what costs.
      const mods = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@opentelemetry/') && !k.includes('@opentelemetry/api/'));
      process.stdout.write(String(mods.length));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) t.fail(r.stderr);
    return Number(r.stdout);
  };
  t.equal(loaded(false), 0, 'without tracing: no OpenTelemetry SDK module loaded');
  t.ok(loaded(true) > 0, 'with tracing: the SDK is loaded (the check can see it)');
});
