// Console sessions and the login throttle live in the store: a cookie made by one
// instance opens pages on another, a logout on one ends it on all, the role is the
// token's role in the configuration now (a removed token ends its sessions), and
// failed logins count for every instance. Two stores on one database stand for two
// processes; test/postgres/cluster-state.test.ts does it with relay processes.
import t from 'tap';
import { join } from 'node:path';
import { StoredSessions } from '../../src/console/session.js';
import { StoredThrottle } from '../../src/net/failure-throttle.js';
import { tokenTable } from '../../src/routes/auth.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { login } from './_lib.js';

type Tap = { teardown(fn: () => Promise<void> | void): void };

async function twoStores(t: Tap) {
  const file = join(tmpDir(t), 'relay.db');
  const a = new SqliteStore(file);
  await a.migrate();
  const b = new SqliteStore(file);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  return [a, b] as const;
}

const never = { retryAfterMs: () => 0, failed() {}, succeeded() {} };
const tokens = (list: (string | { token: string; role: 'viewer' | 'operator' })[]) => tokenTable({ admin: { tokens: list } }, never);

t.test('a session made on one instance is read on another, ends there at logout, and expires', async (t) => {
  const [sa, sb] = await twoStores(t);
  let now = 1_000_000;
  const clock = () => now;
  const table = tokens([ADMIN_TOKEN, { token: VIEWER_TOKEN, role: 'viewer' }]);
  const onA = new StoredSessions(sa, table, 60_000, clock);
  const onB = new StoredSessions(sb, table, 60_000, clock);
  const { session, value } = await onA.issue('operator', ADMIN_TOKEN);
  t.same(await onB.read(value), session, 'B reads the same session: id, role, expiry, CSRF secret');
  t.ok(session.csrf.length >= 32);
  const [id, secret] = value.split('.') as [string, string];
  t.notMatch(JSON.stringify(sb.db.prepare('SELECT * FROM console_sessions').all()), secret, 'the cookie secret is not stored');
  t.notMatch(JSON.stringify(sb.db.prepare('SELECT * FROM console_sessions').all()), ADMIN_TOKEN, 'nor the token');
  t.equal(await onB.read(`${id}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`), null, 'another secret with the same id is refused');
  t.equal(await onB.read(`${id}`), null);
  t.equal(await onB.read('garbage'), null);
  t.equal(await onB.read(undefined), null);
  now += 59_999;
  t.ok(await onB.read(value), 'valid until it expires');
  now += 1;
  t.equal(await onB.read(value), null, 'expired');
  const second = await onB.issue('viewer', VIEWER_TOKEN);
  t.equal((await onA.read(second.value))!.role, 'viewer');
  await onB.revoke(second.session);
  t.equal(await onA.read(second.value), null, 'logged out on B: gone on A');
});

t.test('the role is the token\'s role in the configuration now; a removed token ends its sessions', async (t) => {
  const [sa] = await twoStores(t);
  const before = new StoredSessions(sa, tokens([ADMIN_TOKEN, { token: VIEWER_TOKEN, role: 'viewer' }]));
  const { value } = await before.issue('operator', ADMIN_TOKEN);
  const demoted = new StoredSessions(sa, tokens([{ token: ADMIN_TOKEN, role: 'viewer' }]));
  t.equal((await demoted.read(value))!.role, 'viewer', 'the token was made a viewer: so is its session');
  const removed = new StoredSessions(sa, tokens([{ token: VIEWER_TOKEN, role: 'viewer' }]));
  t.equal(await removed.read(value), null, 'the token was removed: its session ends');
});

t.test('failed logins count for every instance; the window passes; a success clears', async (t) => {
  const [sa, sb] = await twoStores(t);
  let now = 0;
  const onA = new StoredThrottle(sa, 'console-login', () => now, 3, 1000);
  const onB = new StoredThrottle(sb, 'console-login', () => now, 3, 1000);
  await onA.failed('10.0.0.9');
  await onB.failed('10.0.0.9');
  t.notOk(await onA.blocked('10.0.0.9'));
  await onA.failed('10.0.0.9');
  t.ok(await onB.blocked('10.0.0.9'), 'blocked on B after failures on A and B');
  t.equal(await onB.retryAfterMs('10.0.0.9'), 1000);
  t.notOk(await onB.blocked('10.0.0.8'), 'other addresses are not');
  t.notOk(await new StoredThrottle(sb, 'admin-token', () => now, 3, 1000).blocked('10.0.0.9'), 'nor the admin API scope');
  now = 1000;
  t.notOk(await onA.blocked('10.0.0.9'), 'the window passes');
  await onA.failed('10.0.0.9');
  await onB.succeeded('10.0.0.9');
  t.equal(await sa.authFailures('console-login', '10.0.0.9'), null, 'a success clears the count');
});

t.test('through the console: a session outlives a restart with the same token, follows its new role, and ends with its removal', async (t) => {
  const dir = tmpDir(t);
  const h = await startRelay(t, baseConfig(dir), { listen: false, delivery: false });
  const op = (await login(h, ADMIN_TOKEN)).client!;
  t.equal((await op.get('/console/endpoints')).status, 200);
  await h.close();
  const demoted = await startRelay(t, baseConfig(dir, { admin: { tokens: [{ token: ADMIN_TOKEN, role: 'viewer' }] } }), { listen: false, delivery: false });
  t.equal((await demoted.app.inject({ method: 'GET', url: '/console/endpoints', headers: { cookie: op.cookie } })).statusCode, 200, 'the session still opens pages');
  const refused = await demoted.app.inject({
    method: 'POST', url: '/console/endpoints/none/disable', headers: { cookie: op.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: op.csrf }).toString(),
  });
  t.equal(refused.statusCode, 403, 'but as a viewer now');
  await demoted.close();
  const removed = await startRelay(t, baseConfig(dir, { admin: { tokens: [VIEWER_TOKEN] } }), { listen: false, delivery: false });
  const res = await removed.app.inject({ method: 'GET', url: '/console/endpoints', headers: { cookie: op.cookie } });
  t.equal(res.statusCode, 303, 'the token is gone: back to the login');
  t.match(String(res.headers.location), /^\/console\/login/);
});
