// The command line as a user meets it: exit codes, help, one-line start-up
// failures, simulate against a real relay, and `npm start` stopping on SIGTERM.
// Needs a build (dist/cli.js): `npm test` runs `npm run build` before tap.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePort, until } from './delivery/_lib.js';
import { ADMIN_TOKEN, baseConfig, startRelay, tmpDir } from './helpers/relay.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

if (!existsSync(CLI)) {
  t.fail(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  process.exit(1);
}

const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, PAYGATE_RELAY_CONFIG: '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** For commands that talk to a relay running in this process: spawnSync would block its event loop. */
const cliAsync = (args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
  const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, PAYGATE_RELAY_CONFIG: '' } });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  p.once('close', (status) => resolve({ status, stdout, stderr }));
});

function writeConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(baseConfig(dir, { shutdown: { drainMs: 500 }, ...extra })));
  return file;
}

t.test('help, usage, version and unknown commands', async (t) => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = cli(args);
    t.equal(r.status, 0, `${args} exits 0`);
    t.match(r.stdout, /^paygate-relay <command> \[options\]/, `${args} prints the usage on stdout`);
  }
  const none = cli([]);
  t.equal(none.status, 2, 'no command: exit 2');
  t.match(none.stderr, /paygate-relay <command>/, 'with the usage on stderr');
  const unknown = cli(['frobnicate']);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
  for (const cmd of ['serve', 'simulate', 'export', 'replay', 'openapi', 'archive']) {
    const r = cli([cmd, '--help']);
    t.equal(r.status, 0, `${cmd} --help exits 0`);
    t.match(r.stdout, new RegExp(`^paygate-relay ${cmd} `), `${cmd} --help prints its usage`);
    t.notMatch(r.stderr, /Unknown option/);
  }
  t.match(cli(['collectmaxx', 'import', '--help']).stdout, /^paygate-relay collectmaxx import --config PATH FILE/);
  t.match(cli(['help', 'replay']).stdout, /^paygate-relay replay\s+FILE --target URL/);
  for (const args of [['--version'], ['-v']]) t.equal(cli(args).stdout, `paygate-relay ${VERSION}\n`, `${args}`);
  const bad = cli(['export', '--nope']);
  t.equal(bad.status, 2, 'an unknown option is a usage error');
  t.match(bad.stderr, /--nope/);
});

t.test('simulate: exit 1 when the relay refuses; --tamper and --forge-mac are refused and kept', async (t) => {
  const dir = tmpDir(t);
  const h = await startRelay(t, baseConfig(dir));
  const file = writeConfig(dir);
  const good = await cliAsync(['simulate', '--config', file, '--kind', 'OC', '--target', h.url]);
  t.equal(good.status, 0, good.stderr);
  t.equal(JSON.parse(good.stdout).status, 200);

  const tampered = await cliAsync(['simulate', '--config', file, '--kind', 'OC', '--target', h.url, '--tamper']);
  t.equal(tampered.status, 1, 'a refused callback fails the command');
  t.match(tampered.stderr, /the relay answered 4\d\d/);
  const forged = await cliAsync(['simulate', '--config', file, '--kind', 'OC', '--target', h.url, '--forge-mac']);
  t.equal(forged.status, 1);
  t.equal(JSON.parse(forged.stdout).status, 401, 'a forged MAC is 401');
  t.equal(JSON.parse(forged.stdout).answer.includes('mac_invalid'), true);
  const q = await h.relay.store.listQuarantine({}, 10);
  t.equal(q.items.length, 2, 'both refusals are kept in quarantine');
  t.same(q.items.map((c) => c.reason).sort(), ['mac_invalid', JSON.parse(tampered.stdout).answer.match(/"error":"(\w+)"/)[1]].sort());

  const printed = cli(['simulate', '--config', file, '--kind', 'OC', '--tamper']);
  t.equal(printed.status, 0, 'without --target it only prints');
  const gone = await cliAsync(['simulate', '--config', file, '--kind', 'OC', '--target', `http://127.0.0.1:${await freePort()}`]);
  t.equal(gone.status, 1, 'no relay listening: exit 1');
});

t.test('start-up failures: one line naming the config key and the cause, no stack trace', async (t) => {
  const dir = tmpDir(t);
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())));
  const busyPort = (busy.address() as { port: number }).port;
  writeFileSync(join(dir, 'not-a-db'), 'this is a text file, not SQLite\n'.repeat(200));
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['port in use', { listen: { host: '127.0.0.1', port: busyPort } }, new RegExp(`^paygate-relay: config listen\\.port: .*EADDRINUSE.*${busyPort}`)],
    ['admin port in use', { admin: { tokens: [ADMIN_TOKEN], listen: { host: '127.0.0.1', port: busyPort } } }, /^paygate-relay: config admin\.listen\.port: .*EADDRINUSE/],
    ['PostgreSQL unreachable', { storage: `postgres://postgres@127.0.0.1:${await freePort()}/postgres?schema=cli_test` }, /^paygate-relay: config storage: .*ECONNREFUSED/],
    ['SQLite path is not a database', { storage: `sqlite:${join(dir, 'not-a-db')}` }, /^paygate-relay: config storage: file is not a database/],
    ['TLS file unreadable', { listen: { host: '127.0.0.1', port: 0, tls: { cert: join(dir, 'missing.crt'), key: join(dir, 'missing.key') } } }, /^paygate-relay: config listen\.tls: ENOENT.*missing\.crt/],
  ];
  for (const [what, extra, line] of cases) {
    const r = cli(['serve', '--config', writeConfig(dir, extra)]);
    t.equal(r.status, 1, `${what}: exit 1`);
    const errLines = r.stderr.split('\n').filter(Boolean);
    t.equal(errLines.length, 1, `${what}: one line on stderr`);
    t.match(errLines[0], line, `${what}: ${errLines[0]}`);
    t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  }
});

t.test('loud configuration: a filter that matches no event type, plain http to a name that is not loopback', async (t) => {
  const dir = tmpDir(t);
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const ep = (extra: Record<string, unknown>) => ({ endpoints: [{ id: 'erp', url: 'https://erp.example/hook', secret, ...extra }] });
  const typo = cli(['serve', '--config', writeConfig(dir, ep({ events: ['mandate.*', 'mandat.approved'] }))]);
  t.equal(typo.status, 2);
  t.match(typo.stderr, /config endpoints\[0\]\.events\[1\]: "mandat\.approved" matches no event type/, 'names the pattern');
  t.match(typo.stderr, /event types: mandate\.approved, mandate\.pending, .*payment\.failed, callback\.conflict, relay\.test$/m, 'and the catalogue');
  const feature = cli(['serve', '--config', writeConfig(dir, ep({ events: ['paylink.*'] }))]);
  t.equal(feature.status, 2);
  t.match(feature.stderr, /"paylink\.\*" matches no event type \(those events come from collectmaxx, which is not configured\)/);

  for (const url of ['http://127.evil.example/hook', 'http://127.0.0.1.nip.example/hook']) {
    const r = cli(['serve', '--config', writeConfig(dir, { endpoints: [{ id: 'erp', url, secret }] })]);
    t.equal(r.status, 2, `${url} refused`);
    t.match(r.stderr, /^paygate-relay: config endpoints\[0\]\.url: plain http/m);
  }
});

t.test('`npm start` runs the relay in the foreground: SIGTERM drains it and frees the port', { timeout: 90_000 }, async (t) => {
  const dir = tmpDir(t);
  const port = await freePort();
  mkdirSync(join(dir, 'data'));
  const file = writeConfig(dir, { listen: { host: '127.0.0.1', port } });
  // --ignore-scripts: prestart's build already ran (npm test builds first); the start script itself is what runs.
  const npm = spawn('npm', ['start', '--ignore-scripts'], { cwd: ROOT, env: { ...process.env, PAYGATE_RELAY_CONFIG: file }, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  const out: string[] = [];
  npm.stdout.on('data', (b: Buffer) => out.push(b.toString()));
  npm.stderr.on('data', (b: Buffer) => out.push(b.toString()));
  const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  t.teardown(() => { if (npm.exitCode === null) npm.kill('SIGKILL'); });
  const url = `http://127.0.0.1:${port}`;
  await until('relay ready', async () => (await fetch(`${url}/readyz`)).status === 200, 60_000);
  const log = out.join('');
  t.match(log, new RegExp(`"console":"${url}/console"`), 'the start log names the console URL');
  const root = await fetch(`${url}/`, { redirect: 'manual' });
  t.equal(root.status, 302, 'GET / leads to the console');
  t.equal(root.headers.get('location'), '/console');

  npm.kill('SIGTERM');
  t.equal(await exited, 0, 'npm exits 0 after the relay stopped');
  t.match(out.join(''), /"msg":"draining"[\s\S]*"msg":"stopped"/, 'the relay drained');
  const refused = await fetch(`${url}/healthz`).then(() => false, () => true);
  t.ok(refused, 'the port is closed: no relay left behind');
});

t.test('GET / is not served on a listener without the console', async (t) => {
  const h = await startRelay(t, { ...baseConfig(tmpDir(t)), admin: undefined });
  t.equal((await fetch(`${h.url}/`, { redirect: 'manual' })).status, 404);
});
