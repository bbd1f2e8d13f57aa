import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { tokenBucket } from '../src/net/rate-limit.js';
import { startServer } from '../src/server.js';
import { buildCallback } from '../src/paygate/simulator.js';
import { SHOP, events, post } from './helpers/paygate.js';
import { ADMIN_TOKEN, baseConfig, startRelay, tmpDir } from './helpers/relay.js';

function makeCert(dir: string, name: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

const quiet = () => createLogger('silent', new Writable({ write(_c, _e, cb) { cb(); } }));

/** POST a real callback over HTTPS; resolves with status and the serving certificate's CN. */
function httpsPost(url: string, agent: Agent, ca: Buffer[]): Promise<{ status: number; cn: string }> {
  const cb = buildCallback({ transId: `TLS-${Math.random().toString(36).slice(2)}`, code: '00000000' }, SHOP);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${url}/paygate/notify/OC`, { method: 'POST', agent, ca, headers: { 'content-type': cb.contentType } }, (res) => {
      const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, cn: String(peer.subject?.CN) }));
    });
    req.on('error', reject);
    req.end(cb.body);
  });
}

t.test('HTTPS with a real certificate; reload by file change mid-traffic without a failed request', async (t) => {
  const dir = tmpDir(t);
  const first = makeCert(dir, 'a', 'relay-one');
  const second = makeCert(dir, 'b', 'relay-two');
  const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
  writeFileSync(live.cert, readFileSync(first.cert));
  writeFileSync(live.key, readFileSync(first.key));
  const config = parseConfig(baseConfig(dir, { listen: { host: '127.0.0.1', port: 0, tls: live } }), {});
  const s = await startServer(config, { logger: quiet() });
  t.teardown(() => s.stop());
  t.match(s.url, /^https:/);
  const ca = [readFileSync(first.cert), readFileSync(second.cert)];
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });
  const fresh = () => new Agent({ keepAlive: false });
  t.teardown(() => keepAlive.destroy());

  const results: { status: number; cn: string }[] = [];
  let swapped = false;
  const traffic = (async () => {
    const end = Date.now() + 2500;
    while (Date.now() < end) {
      const batch = await Promise.all([httpsPost(s.url, keepAlive, ca), httpsPost(s.url, fresh(), ca)]);
      results.push(...batch);
      if (!swapped && results.length >= 20) {
        swapped = true;
        // Atomic replace, as cert-manager and certbot do: write aside, then rename over.
        writeFileSync(`${live.key}.tmp`, readFileSync(second.key));
        writeFileSync(`${live.cert}.tmp`, readFileSync(second.cert));
        renameSync(`${live.key}.tmp`, live.key);
        renameSync(`${live.cert}.tmp`, live.cert);
      }
    }
  })();
  await traffic;
  t.ok(results.length > 40, `${results.length} requests during the reload`);
  t.ok(results.every((r) => r.status === 200), 'no request failed across the reload');
  t.equal(results[0]!.cn, 'relay-one');
  t.equal((await httpsPost(s.url, fresh(), ca)).cn, 'relay-two', 'new connections get the new certificate');
  const notAfter = Math.floor(Date.parse(new X509Certificate(readFileSync(second.cert)).validTo) / 1000);
  const metrics = await (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, new RegExp(`paygate_relay_tls_certificate_expiry_timestamp_seconds ${notAfter}`));
  writeFileSync(live.cert, 'not a certificate');
  t.equal(s.reloadTls(), false, 'a broken file is refused (SIGHUP path) and the old certificate stays');
  t.equal((await httpsPost(s.url, fresh(), ca)).status, 200);
});

t.test('admin.listen: admin API and /metrics only on the admin port', async (t) => {
  const dir = tmpDir(t);
  const config = parseConfig(baseConfig(dir, { admin: { tokens: [ADMIN_TOKEN], listen: { host: '127.0.0.1', port: 0 } } }), {});
  const s = await startServer(config, { logger: quiet() });
  t.teardown(() => s.stop());
  const get = (base: string, path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.status);
  t.equal(await get(s.url, '/admin/events'), 404, 'no admin API on the public port');
  t.equal(await get(s.url, '/metrics'), 404, 'no metrics on the public port');
  t.equal(await get(s.url, '/healthz'), 200);
  t.equal(await get(s.adminUrl!, '/admin/events'), 200);
  t.equal(await get(s.adminUrl!, '/metrics'), 200);
  t.equal(await get(s.adminUrl!, '/paygate/notify'), 404, 'no callbacks on the admin port');
  t.equal(s.app.server.headersTimeout, 10_000, 'header timeout set deliberately');
  t.equal(s.app.server.keepAliveTimeout, 5_000);
  t.equal(s.app.server.requestTimeout, 30_000);
});

t.test('allowFrom and trustProxy: the real client IP decides; refusals are counted, not stored', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t), { trustProxy: ['127.0.0.1'], paygate: { allowFrom: ['195.140.0.0/16', '2001:db8::/32'] } }), { listen: false, delivery: false });
  const cb = buildCallback({ transId: 'IP-1', code: '00000000' }, SHOP);
  const send = (remoteAddress: string, xff?: string) => h.app.inject({
    method: 'POST', url: '/paygate/notify', remoteAddress, payload: cb.body,
    headers: { 'content-type': cb.contentType, ...(xff ? { 'x-forwarded-for': xff } : {}) },
  });
  t.equal((await send('10.0.0.7')).statusCode, 403, 'outside the allowlist');
  t.equal((await send('127.0.0.1', '10.9.9.9')).statusCode, 403, 'a trusted proxy forwarding a foreign client');
  t.equal((await send('10.0.0.7', '195.140.1.2')).statusCode, 403, 'X-Forwarded-For from an untrusted peer is ignored');
  t.equal((await send('127.0.0.1', '195.140.1.2')).statusCode, 200, 'Paygate behind our proxy');
  t.equal((await send('2001:db8::5')).statusCode, 200, 'IPv6 range');
  const detail = await h.app.inject({ method: 'GET', url: `/admin/events/${(await events(h))[0]!.id}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(detail.json().callback.remoteIp, '195.140.1.2', 'the stored client IP is the real one');
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /paygate_relay_callbacks_total\{channel="notify",result="forbidden",reason="forbidden_source"\} 3/);
  t.equal((await h.app.inject({ method: 'GET', url: '/admin/quarantine', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json().items.length, 0);
});

t.test('rate limit: never refuses at or under the configured rate; 429 above it, counted', async (t) => {
  const b = tokenBucket({ perSecond: 10, burst: 5 });
  let refused = 0;
  for (let ms = 0; ms < 10_000; ms += 100) if (!b.take('ip', ms)) refused++;
  t.equal(refused, 0, 'steady 10/s against 10/s: nothing refused');
  const c = tokenBucket({ perSecond: 10, burst: 5 });
  const burst = Array.from({ length: 8 }, () => c.take('ip', 0));
  t.same(burst, [true, true, true, true, true, false, false, false], 'burst capacity then refuse');
  t.equal(c.take('other', 0), true, 'per client');
  t.equal(c.take('ip', 100), true, 'refills with time');

  const h = await startRelay(t, baseConfig(tmpDir(t), { paygate: { rateLimit: { perSecond: 1, burst: 3 } } }), { listen: false, delivery: false });
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) codes.push((await post(h, '/paygate/notify', {})).statusCode);
  t.same(codes, [200, 200, 200, 429, 429]);
  t.match((await h.app.inject({ method: 'GET', url: '/metrics' })).body, /paygate_relay_callbacks_total\{channel="notify",result="rate_limited",reason="rate_limited"\} 2/);
});

t.test('slowloris: a client that sends its headers slowly is cut within about headersMs', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t), { listen: { host: '127.0.0.1', port: 0, timeouts: { headersMs: 1000, requestMs: 30_000, keepAliveMs: 5_000 } } }));
  const { port } = new URL(h.url);
  const sock = connect(Number(port), '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const started = Date.now();
  let answer = '';
  sock.on('data', (b: Buffer) => (answer += b.toString('latin1')));
  sock.write('POST /paygate/notify HTTP/1.1\r\nHost: relay\r\n');
  // One header line every 300 ms, never the blank line that ends the block.
  let n = 0;
  const drip = setInterval(() => { if (!sock.destroyed) sock.write(`X-Drip-${n++}: ${'a'.repeat(10)}\r\n`); }, 300);
  const closedAfter = await new Promise<number>((r) => sock.once('close', () => r(Date.now() - started)));
  clearInterval(drip);
  t.ok(closedAfter >= 900, `not before headersMs (${closedAfter} ms)`);
  // Node's default sweep (30 s) would leave it open for up to 30 s; the relay sweeps every headersMs/10.
  t.ok(closedAfter < 5000, `closed after ${closedAfter} ms, well before Node's 30 s default sweep`);
  t.match(answer, /^HTTP\/1\.1 408/, 'answered 408 Request Timeout');
});

t.test('admin API: wrong bearer tokens are throttled per address with 429 and Retry-After, like the console login', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { delivery: false });
  const get = (token: string) => fetch(`${h.url}/admin/events`, { headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < 10; i++) t.equal((await get(`wrong-token-${i}-0123456789`)).status, 401, `wrong token ${i + 1}`);
  const blocked = await get(`wrong-token-11-0123456789`);
  t.equal(blocked.status, 429, 'the 11th wrong token is refused unread');
  const retryAfter = Number(blocked.headers.get('retry-after'));
  t.ok(retryAfter > 0 && retryAfter <= 300, `Retry-After ${retryAfter}s`);
  t.equal(((await blocked.json()) as { error: string }).error, 'rate_limited');
  t.equal((await get(ADMIN_TOKEN)).status, 429, 'even the right token waits out the window from that address');
  // Another address is not affected (app.inject sets the peer address).
  const other = await h.app.inject({ method: 'GET', url: '/admin/events', remoteAddress: '127.0.0.9', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(other.statusCode, 200, 'other clients keep working');
  const noHeader = await h.app.inject({ method: 'GET', url: '/admin/events', remoteAddress: '127.0.0.10' });
  t.equal(noHeader.statusCode, 401, 'a request without a token is refused but does not count as a guess');
});
