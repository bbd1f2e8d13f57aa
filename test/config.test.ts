import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig, parseConfig } from '../src/config/load.js';
import { buildEndpoint } from '../src/delivery/endpoints.js';
import { compileGlob, eventCatalogue } from '../src/events/catalogue.js';
import { archiveDirOf } from '../src/relay.js';
import { checkPlainHttpEndpoints } from '../src/startup.js';

const merchant = { id: 'ShopTest', keys: [{ blowfish: '${SHOP_BF}', hmac: '${SHOP_HMAC}' }] };
const env = { SHOP_BF: 'bf-secret', SHOP_HMAC: 'hmac-secret' };

function fails(t: any, raw: unknown, e: NodeJS.ProcessEnv, pattern: RegExp, name: string) {
  t.throws(() => parseConfig(raw, e), { name: 'ConfigError', message: pattern }, name);
}

t.test('environment interpolation and defaults', async (t) => {
  const c = parseConfig({ merchants: [merchant] }, env);
  t.equal(c.merchants[0]!.keys[0]!.blowfish, 'bf-secret');
  t.equal(c.merchants[0]!.encryption, 'blowfish', 'blowfish is the default');
  t.equal(c.storage, 'sqlite:./data/relay.db');
  t.equal(c.listen.port, 8080);
  t.equal(parseConfig({ merchants: [merchant] }, { ...env, PORT: '9443' }).listen.port, 9443, 'PORT overrides listen.port');
});

t.test('bad values stop start-up with a message naming the key', async (t) => {
  fails(t, { merchants: [merchant] }, { SHOP_BF: 'x' }, /merchants\[0\]\.keys\[0\]\.hmac: environment variable SHOP_HMAC is not set/, 'missing env var named');
  fails(t, { merchants: [{ id: 'A', encryption: 'aes', keys: [{ aes: 'short', hmac: 'h' }] }] }, {}, /merchants\[0\]\.keys\[0\]\.aes: AES key must be 16, 24 or 32 bytes/, 'AES key size');
  fails(t, { merchants: [{ id: 'A', encryption: 'aes', keys: [{ blowfish: 'k', hmac: 'h' }] }] }, {}, /merchants\[0\]\.keys\[0\]\.aes: required for a aes merchant/, 'AES key slot needs aes');
  fails(t, { merchants: [{ id: 'A', keys: [{ blowfish: 'x'.repeat(57), hmac: 'h' }] }] }, {}, /blowfish: Blowfish key must be 1 to 56 bytes/, 'blowfish key size');
  fails(t, { merchants: [merchant], listen: { port: 'eighty' } }, env, /listen\.port/, 'port type');
  fails(t, { merchants: [merchant], surprise: true }, env, /config \(root\): .*surprise/i, 'unknown keys are errors, not ignored');
  fails(t, { merchants: [merchant] }, { ...env, PORT: 'x' }, /PORT: not a valid port/, 'bad PORT');
  const ep = { id: 'erp', url: 'http://10.1.2.3/hook', secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` };
  fails(t, { merchants: [merchant], endpoints: [ep] }, env, /endpoints\[0\]\.url: plain http is only allowed for loopback/, 'plain http to a non-loopback address refused');
  fails(t, { merchants: [merchant], endpoints: [{ ...ep, url: 'http://[2001:db8::1]/hook' }] }, env, /endpoints\[0\]\.url: plain http/, 'IPv6 too');
  for (const url of ['http://127.0.0.1:9/hook', 'http://127.8.9.10/hook', 'http://[::1]:9/hook']) {
    t.doesNotThrow(() => parseConfig({ merchants: [merchant], endpoints: [{ ...ep, url }] }, env), `${url}: a loopback address`);
  }
  t.doesNotThrow(() => parseConfig({ merchants: [merchant], endpoints: [{ ...ep, allowInsecure: true }] }, env), 'unless allowInsecure');
  fails(t, { merchants: [merchant], endpoints: [{ ...ep, url: 'ftp://x/y' }] }, env, /endpoints\[0\]\.url/, 'only http(s)');
  fails(t, { merchants: [merchant], endpoints: [{ ...ep, url: 'https://x/y', secret: 'whsec_c2hvcnQ=' }] }, env, /endpoints\[0\]\.secret: the base64 part must decode to 24\.\.64 bytes/, 'short secret');
  fails(t, { merchants: [merchant], endpoints: [{ ...ep, url: 'https://x/y', merchants: ['Nope'] }] }, env, /endpoints\[0\]\.merchants\[0\]: unknown merchant Nope/, 'endpoint merchant filter must exist');
  fails(t, { merchants: [merchant, merchant] }, env, /merchants\[1\]\.id: duplicate merchant id/, 'duplicate merchants');
});

t.test('plain http to a name: decided at start by the addresses it resolves to', async (t) => {
  const ep = (url: string) => parseConfig({ merchants: [merchant], endpoints: [{ id: 'erp', url, secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }] }, env);
  await t.resolves(checkPlainHttpEndpoints(ep('http://localhost:9/hook')), 'localhost resolves to loopback (real resolver)');
  await t.rejects(checkPlainHttpEndpoints(ep('http://127.evil.example/hook')), { name: 'ConfigError', message: /endpoints\[0\]\.url: plain http/ }, 'a name that merely starts with 127. is not loopback');
  // What a public DNS answer would be: the name points at a routable address.
  const resolver = (addrs: string[]) => async () => addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  await t.rejects(checkPlainHttpEndpoints(ep('http://hooks.internal/x'), resolver(['127.0.0.1', '10.0.0.7'])), { message: /resolves to 10\.0\.0\.7/ }, 'one non-loopback address is enough to refuse');
  await t.resolves(checkPlainHttpEndpoints(ep('http://hooks.internal/x'), resolver(['127.0.0.1', '::1'])));
  await t.resolves(checkPlainHttpEndpoints(ep('https://anything.example/x'), resolver(['10.0.0.7'])), 'https is not checked');
});

t.test('event filters must match a type the relay can emit', async (t) => {
  const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
  const withEvents = (events: string[], extra: Record<string, unknown> = {}) => ({ merchants: [merchant], endpoints: [{ id: 'erp', url: 'https://erp.example/h', secret, events }], ...extra });
  fails(t, withEvents(['mandat.*']), env, /endpoints\[0\]\.events\[0\]: "mandat\.\*" matches no event type \(use "\*" for all\); event types: mandate\.approved, /, 'a typo names the pattern and the catalogue');
  fails(t, withEvents(['mandate']), env, /"mandate" matches no event type/, 'a segment is not a prefix');
  fails(t, withEvents(['paylink.*']), env, /those events come from collectmaxx, which is not configured/, 'feature types only with the feature');
  const all = parseConfig(withEvents(['*']), env);
  const ep = buildEndpoint(all.endpoints[0]!);
  for (const type of ['mandate.approved', 'payment.failed', 'callback.conflict', 'relay.test']) t.ok(ep.matchesType(type), `"*" matches ${type}`);
  t.doesNotThrow(() => parseConfig(withEvents(['mandate.*', '*.failed', 'relay.test', 'callback.conflict']), env));
  for (const type of eventCatalogue([])) t.ok(compileGlob('*').test(type));
});

t.test('the CLI refuses a bad config with exit code 2 and the key in the message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pgr-cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ merchants: [{ id: 'A', encryption: 'aes', keys: [{ aes: 'short', hmac: 'h' }] }] }));
  const r = spawnSync(process.execPath, ['--import=tsx', 'src/cli.ts', 'serve', '--config', file], { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 2);
  t.match(r.stderr, /config merchants\[0\]\.keys\[0\]\.aes: AES key must be 16, 24 or 32 bytes/);
  t.throws(() => loadConfig(join(dir, 'missing.json')), ConfigError);
});

t.test('retention: on with its defaults; durations are <n>s|m|h|d and a bad one names the key', async (t) => {
  const r = parseConfig({ merchants: [merchant] }, env).retention;
  t.same(r, { delivered: 30 * 86_400_000, callbacks: 90 * 86_400_000, quarantine: 180 * 86_400_000, deadLetters: 180 * 86_400_000, sweepEvery: 600_000 });
  const cwd = process.cwd();
  t.equal(archiveDirOf(parseConfig({ merchants: [merchant] }, env)), join(cwd, 'data/archive'), 'the archive defaults to ./data/archive beside the default SQLite file');
  t.equal(archiveDirOf(parseConfig({ merchants: [merchant], storage: 'sqlite:/var/lib/paygate-relay/relay.db' }, env)), '/var/lib/paygate-relay/archive', 'beside any SQLite file');
  t.equal(archiveDirOf(parseConfig({ merchants: [merchant], storage: 'postgres://u@h:5432/db?schema=s' }, env)), join(cwd, 'data/archive'), 'with PostgreSQL: ./data/archive');
  t.equal(archiveDirOf(parseConfig({ merchants: [merchant], retention: { archiveDir: 'arch' } }, env)), join(cwd, 'arch'), 'a relative archiveDir is taken from the working directory');
  const set = parseConfig({ merchants: [merchant], retention: { delivered: '5m', sweepEvery: '30s', archiveDir: false } }, env).retention;
  t.same([set.delivered, set.sweepEvery, set.archiveDir, set.callbacks], [300_000, 30_000, false, 90 * 86_400_000], 'each key alone; false turns the archive off');
  t.equal(parseConfig({ merchants: [merchant], retention: { deadLetters: '36h' } }, env).retention.deadLetters, 36 * 3_600_000);
  for (const bad of ['30', '30 d', '1w', '-1d', '0d', '1.5h', 'd', '30D']) {
    fails(t, { merchants: [merchant], retention: { callbacks: bad } }, env, new RegExp(`^config retention\\.callbacks: "${bad.replace('.', '\\.')}" is not a duration`), `"${bad}" refused`);
  }
  fails(t, { merchants: [merchant], retention: { sweepEvery: 600 } }, env, /^config retention\.sweepEvery: /, 'a number is not a duration');
  fails(t, { merchants: [merchant], retention: { sweepEvery: '2d' } }, env, /^config retention\.sweepEvery: at most 24h/, 'a sweep at least once a day');
  fails(t, { merchants: [merchant], retention: { delivered: '1234567d' } }, env, /^config retention\.delivered: "1234567d" is not a duration/, 'at most six digits');
  fails(t, { merchants: [merchant], retention: { archiveDir: '' } }, env, /^config retention\.archiveDir: must not be empty/, 'an empty archive directory');
  fails(t, { merchants: [merchant], retention: { keep: '1d' } }, env, /retention.*keep/, 'unknown keys are errors');
});
