import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig, parseConfig } from '../src/config/load.js';

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
  const ep = { id: 'erp', url: 'http://erp.example/hook', secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` };
  fails(t, { merchants: [merchant], endpoints: [ep] }, env, /endpoints\[0\]\.url: plain http is only allowed for loopback/, 'plain http refused');
  t.doesNotThrow(() => parseConfig({ merchants: [merchant], endpoints: [{ ...ep, allowInsecure: true }] }, env), 'unless allowInsecure');
  fails(t, { merchants: [merchant], endpoints: [{ ...ep, url: 'ftp://x/y' }] }, env, /endpoints\[0\]\.url/, 'only http(s)');
  fails(t, { merchants: [merchant], endpoints: [{ ...ep, url: 'https://x/y', secret: 'whsec_c2hvcnQ=' }] }, env, /endpoints\[0\]\.secret: the base64 part must decode to 24\.\.64 bytes/, 'short secret');
  fails(t, { merchants: [merchant], endpoints: [{ ...ep, url: 'https://x/y', merchants: ['Nope'] }] }, env, /endpoints\[0\]\.merchants\[0\]: unknown merchant Nope/, 'endpoint merchant filter must exist');
  fails(t, { merchants: [merchant, merchant] }, env, /merchants\[1\]\.id: duplicate merchant id/, 'duplicate merchants');
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
