// The README's Quick start, run as written: the relay on config/example.json
// (`node dist/cli.js serve`, what `npm start` runs), examples/receiver.mjs as a
// child process with the secret the README gives it, a callback sent by
// `paygate-relay simulate`, and the receiver printing the event it verified.
// Needs a build (dist/cli.js): `npm test` runs `npm run build` before tap.
import t from 'tap';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, until } from './delivery/_lib.js';
import { tmpDir } from './helpers/relay.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const EXAMPLE = JSON.parse(readFileSync(join(ROOT, 'config/example.json'), 'utf8'));
const SIMULATE = 'node dist/cli.js simulate --config config/example.json --kind OC --target http://127.0.0.1:8080';
const ADMIN_TOKEN: string = EXAMPLE.admin.tokens[0];

if (!existsSync(CLI)) {
  t.fail(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  process.exit(1);
}

type Tap = { teardown(fn: () => Promise<void> | void): void };

/** The README's Quick start section, code blocks included. */
function quickStart(): string {
  const m = /^## Quick start\n([\s\S]*?)^## /m.exec(README);
  if (!m) throw new Error('README has no "## Quick start" section');
  return m[1]!;
}

/** A child process whose output is collected line by line; killed at teardown. */
function child(t: Tap, args: string[], env: Record<string, string>): { proc: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (b: Buffer) => lines.push(...b.toString('utf8').split('\n').filter(Boolean));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  return { proc, lines, exited };
}

t.test('the Quick start commands are the ones tested here, and agree with config/example.json', async (t) => {
  const qs = quickStart();
  t.match(qs, /^npm ci\b/m, 'installs with npm ci');
  t.match(qs, /^npm start\b/m, 'starts with npm start');
  t.ok(qs.includes(SIMULATE), 'sends the simulated callback tested below');
  const recv = /^WEBHOOK_SECRET=(whsec_\S+) node examples\/receiver\.mjs/m.exec(qs);
  t.ok(recv, 'runs examples/receiver.mjs with WEBHOOK_SECRET');
  const endpoint = EXAMPLE.endpoints[0];
  t.equal(recv?.[1], endpoint.secret, "the receiver gets the example endpoint's secret");
  t.equal(endpoint.url, 'http://127.0.0.1:9000/webhook', "the example endpoint is the receiver's default address");
  t.equal(EXAMPLE.listen.port, 8080, 'the relay listens where simulate sends');
  t.ok(qs.includes('http://127.0.0.1:8080/console'), 'names the console URL');
  t.ok(qs.includes(ADMIN_TOKEN), 'names the token to log in with');
});

t.test('relay + example receiver + simulate: the receiver prints the event it verified', async (t) => {
  const dir = tmpDir(t);
  const recvPort = await freePort();
  const relayPort = await freePort();
  const endpoint = EXAMPLE.endpoints[0];
  // config/example.json as shipped, but on free ports and a temporary SQLite file.
  const config = {
    ...EXAMPLE,
    storage: `sqlite:${join(dir, 'relay.db')}`,
    endpoints: [{ ...endpoint, url: endpoint.url.replace(':9000/', `:${recvPort}/`) }],
  };
  const configFile = join(dir, 'relay.json');
  writeFileSync(configFile, JSON.stringify(config));

  const receiver = child(t, ['examples/receiver.mjs'], { WEBHOOK_SECRET: endpoint.secret, PORT: String(recvPort) });
  await until('receiver listening', () => receiver.lines.some((l) => l.includes(`listening on http://127.0.0.1:${recvPort}`)), 10_000);

  const relay = child(t, [CLI, 'serve', '--config', configFile], { PORT: String(relayPort) });
  const base = `http://127.0.0.1:${relayPort}`;
  await until('relay ready', async () => {
    const r = await fetch(`${base}/readyz`);
    await r.arrayBuffer();
    return r.status === 200;
  }, 15_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${relay.lines.slice(-20).join('\n')}`);
  });

  const transId = `TQS${process.pid}`;
  const args = SIMULATE.split(' ').slice(2).map((a) => (a === 'http://127.0.0.1:8080' ? base : a));
  const sim = await promisify(execFile)(process.execPath, [CLI, ...args, '--trans-id', transId], { cwd: ROOT });
  t.match(JSON.parse(sim.stdout), { status: 200, answer: 'OK' }, 'the relay stored the callback');

  const line = await until('receiver verified the event', () => receiver.lines.find((l) => l.startsWith('verified ')), 15_000)
    .catch((err: Error) => {
      throw new Error(`${err.message}\nreceiver:\n${receiver.lines.join('\n')}\nrelay:\n${relay.lines.slice(-20).join('\n')}`);
    });
  t.match(line, new RegExp(`^verified open_position\\.created evt_\\w+ transId=${transId} outcome=succeeded$`));

  // The console step: the URL leads to the login, and the token opens the event the receiver got.
  const consoleRes = await fetch(`${base}/console`, { redirect: 'manual' });
  t.equal(consoleRes.status, 303);
  t.match(consoleRes.headers.get('location'), /^\/console\/login/);
  const eventId = /evt_\w+/.exec(line)![0];
  const ev = await fetch(`${base}/admin/events/${eventId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(ev.status, 200, 'the example admin token reads the event');
  t.match(await ev.json(), { event: { id: eventId, data: { transId } } });
});

t.test('the example receiver refuses a delivery whose signature does not verify', async (t) => {
  const port = await freePort();
  const secret = EXAMPLE.endpoints[0].secret as string;
  const receiver = child(t, ['examples/receiver.mjs'], { WEBHOOK_SECRET: secret, PORT: String(port) });
  await until('receiver listening', () => receiver.lines.some((l) => l.includes('listening')), 10_000);
  const body = JSON.stringify({ id: 'evt_forged', type: 'prepayment.paid', data: { transId: 'T1' } });
  const ts = String(Math.floor(Date.now() / 1000));
  const { createHmac } = await import('node:crypto');
  const sign = (key: Buffer, at = ts) => `v1,${createHmac('sha256', key).update(`evt_forged.${at}.${body}`).digest('base64')}`;
  const post = (signature: string, at = ts) =>
    fetch(`http://127.0.0.1:${port}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'evt_forged', 'webhook-timestamp': at, 'webhook-signature': signature },
      body,
    }).then((r) => r.status);

  t.equal(await post(sign(Buffer.from('some other secret, 24 bytes'))), 401, 'another secret');
  t.equal(await post('v1,' + 'A'.repeat(44)), 401, 'garbage signature');
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const old = String(Math.floor(Date.now() / 1000) - 3600);
  t.equal(await post(sign(key, old), old), 401, 'a correctly signed delivery an hour old');
  t.equal(await post(`v1,${'B'.repeat(44)} ${sign(key)}`), 204, 'one valid signature among several (secret rotation)');
  await until('receiver logged', () => receiver.lines.filter((l) => l.startsWith('rejected evt_forged')).length === 3);
  t.equal(receiver.lines.filter((l) => l.startsWith('verified prepayment.paid evt_forged')).length, 1);
});
