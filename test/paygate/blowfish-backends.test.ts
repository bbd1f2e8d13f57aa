// Both Blowfish decrypt backends against OpenSSL's one-shot bf-ecb (the
// oracle, a separate process): `js` (our round loop over blowfish-node's key
// schedule) and blowfish-node's own decode in this process, and `openssl` (one
// keyed node:crypto decipher reused across callbacks) in a child started with
// --openssl-legacy-provider, where the relay must pick it by itself. Keys reuse
// the same cipher for many ciphertexts: reuse is what the openssl backend relies on.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BLOWFISH_BACKEND, BlowfishCipher } from '../../src/paygate/blowfish.js';
import { Oracle } from '../oracle/client.js';
import { randomPayload, rng } from './_helpers.js';

const oracle = new Oracle();
t.teardown(() => oracle.close());

interface Case { key: Buffer; plain: Buffer; ct: Buffer }

/** 20 keys (4..56 bytes) x 15 zero-padded plaintexts, some ending in zero blocks; ciphertexts made by OpenSSL. */
async function cases(seed: number): Promise<Case[]> {
  const r = rng(seed);
  const out: Case[] = [];
  for (let k = 0; k < 20; k++) {
    const key = r.bytes(r.range(4, 56));
    for (let i = 0; i < 15; i++) {
      const raw = i % 4 === 0 ? Buffer.concat([r.bytes(8 * r.range(1, 40)), Buffer.alloc(r.int(17))]) : randomPayload(r);
      const plain = Buffer.alloc(Math.max(8, Math.ceil(raw.length / 8) * 8));
      raw.copy(plain);
      out.push({ key, plain, ct: await oracle.run('encrypt', 'bf-ecb', key, plain) });
    }
  }
  return out;
}

/** Runs _blowfish-child.ts with the given node flags over the cases; returns backend names and plaintexts. */
async function child(flags: string[], cs: Case[]): Promise<{ detected: string; backend: string; plain: string }[]> {
  const script = fileURLToPath(new URL('./_blowfish-child.ts', import.meta.url));
  const proc = spawn(process.execPath, [...flags, '--import', 'tsx', script], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const answers: { detected: string; backend: string; plain: string }[] = [];
  const lines = createInterface({ input: proc.stdout });
  const done = new Promise<void>((resolve) => lines.on('line', (l) => (answers.push(JSON.parse(l)), answers.length === cs.length && resolve())));
  for (const c of cs) proc.stdin.write(JSON.stringify({ key: c.key.toString('hex'), data: c.ct.toString('hex') }) + '\n');
  await done;
  proc.kill();
  return answers;
}

t.before(async () => {
  if (!(await oracle.ready())) throw new Error('oracle cannot use bf-ecb: --openssl-legacy-provider not effective');
});

t.test('js and blowfish-node backends decrypt what OpenSSL encrypted, raw blocks included', async (t) => {
  const cs = await cases(303);
  for (const backend of ['js', 'blowfish-node'] as const) {
    const ciphers = new Map<string, BlowfishCipher>();
    const bad = cs.filter((c) => {
      const k = c.key.toString('hex');
      if (!ciphers.has(k)) ciphers.set(k, new BlowfishCipher(c.key, backend));
      const cipher = ciphers.get(k)!;
      t.equal(cipher.backend, backend);
      return !cipher.decrypt(c.ct).equals(c.plain);
    });
    t.equal(bad.length, 0, `${backend}: all ${cs.length} agree with OpenSSL`);
  }
});

t.test('under --openssl-legacy-provider the relay picks the openssl backend by itself, and it agrees with OpenSSL', async (t) => {
  const cs = await cases(404);
  const answers = await child(['--openssl-legacy-provider'], cs);
  t.same([...new Set(answers.map((a) => `${a.detected}/${a.backend}`))], ['openssl/openssl']);
  t.equal(answers.filter((a, i) => a.plain !== cs[i]!.plain.toString('hex')).length, 0, `all ${cs.length} agree with OpenSSL`);
});

t.test('without the legacy provider it falls back to js by itself', async (t) => {
  t.equal(BLOWFISH_BACKEND, 'js', 'this test process runs without --openssl-legacy-provider');
  const cs = (await cases(505)).slice(0, 30);
  const answers = await child([], cs);
  t.same([...new Set(answers.map((a) => `${a.detected}/${a.backend}`))], ['js/js']);
  t.equal(answers.filter((a, i) => a.plain !== cs[i]!.plain.toString('hex')).length, 0, 'and agrees with OpenSSL');
});

t.test('ciphertext that is not whole blocks is refused by every backend', async (t) => {
  for (const backend of ['js', 'blowfish-node'] as const) {
    t.throws(() => new BlowfishCipher(Buffer.from('key-1234'), backend).decrypt(Buffer.alloc(12)), /multiple of 8/);
    t.equal(new BlowfishCipher(Buffer.from('key-1234'), backend).decrypt(Buffer.alloc(0)).length, 0);
  }
});
