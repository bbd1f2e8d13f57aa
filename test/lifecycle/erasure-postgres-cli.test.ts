// Erasure on the real PostgreSQL (every table checked through SQL: the files
// cannot be read here) with Collectmaxx records, and the `erase` command on a
// SQLite relay: exit codes, output, and the person gone from the file.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { collectmaxx } from '../../src/collectmaxx/module.js';
import { RULE } from '../collectmaxx/_relay.js';
import { adminQuery, freshSchema, pgUrl, sharePostgres } from '../helpers/pg.js';
import { post, transId } from '../helpers/paygate.js';
import { ADMIN_TOKEN, baseConfig, startRelay, tmpDir } from '../helpers/relay.js';

const LAST = 'Quacksalverova';
const IBAN = 'DE89370400440532013000';
const PERSON = { FirstName: 'Zebulonia', LastName: LAST, IBAN, Amount: '4711', Currency: 'EUR' };
const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, PAYGATE_RELAY_CONFIG: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('PostgreSQL: the person is gone from every table, Collectmaxx records included; a repeat changes nothing', async (t) => {
  await sharePostgres(t);
  const schema = freshSchema(t, 'erase');
  const dir = tmpDir(t);
  const h = await startRelay(t, baseConfig(dir, {
    storage: pgUrl(schema),
    collectmaxx: { export: { clientNumber: '4711', outboxDir: join(dir, 'outbox'), defaultCountryCode: '49', batch: { maxRecords: 100, maxDelayMs: 600_000 }, rules: [RULE] } },
  }), { listen: false, delivery: false });
  const T = transId('ERP');
  t.equal((await post(h, '/paygate/notify/debtor', { transId: T, payId: 'PAYA1', userData: `Kunde ${LAST}`, extra: PERSON })).statusCode, 200);
  t.equal((await post(h, '/paygate/notify/debtor', { transId: T, payId: 'PAYC3', custom: { TransID: T, Name: LAST } }, { macOverride: 'F'.repeat(64) })).statusCode, 401);
  const [ev] = (await adminQuery(`SELECT id FROM ${schema}.events WHERE trans_id = $1`, [T])).rows as { id: string }[];

  const hits = async () => {
    const tables = (await adminQuery(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [schema])).rows as { table_name: string }[];
    const found: string[] = [];
    for (const { table_name: name } of tables) {
      // Row text (bytea shows as hex: search the hex of the values too).
      const r = await adminQuery(
        `SELECT count(*)::int AS n FROM ${schema}.${name} x WHERE x::text ILIKE ANY($1)`,
        [[LAST, IBAN, Buffer.from(LAST).toString('hex'), Buffer.from(IBAN).toString('hex')].map((s) => `%${s}%`)],
      );
      if ((r.rows[0] as { n: number }).n > 0) found.push(name);
    }
    return found.sort();
  };
  t.same(await hits(), ['callbacks', 'events'], 'planted before (the check can fail)');

  // Records the export made of the event (no delivery here: added as the exporter adds them).
  const cmx = h.relay.feature(collectmaxx)!.store;
  const record = { IDENTIFICATION_IDENTIFIER: 'ID1', PERSON_FAMILYNAME: LAST, INVOICE_AMOUNT: '47.11', CONTROL_FLOWID: 'F1' };
  const src = { eventId: ev!.id, merchantId: 'ShopTest', transId: T, flowId: 'F1', ruleIndex: 0, format: 'csv' as const, queuedAt: 1 };
  await cmx.addExport({ ...src, identifier: 'ID1', record });
  await cmx.addExport({ ...src, identifier: 'ID2', record: { ...record, IDENTIFICATION_IDENTIFIER: 'ID2' } });
  await cmx.allocateFile({ day: '2026-12-04', clientNumber: '1', format: 'csv', limit: 1, owner: 'me', now: 2, leaseMs: 1000 });
  await cmx.addReject({ ...src, identifier: 'ID3', reasons: [{ field: 'X', code: 'required', message: 'm' }], record, createdAt: 1 } as never);
  await cmx.addSeenStates([{ stateKey: 's1', subjectKey: 'k1', identifier: 'ID1', firstSeenAt: 1 }]);
  const r = await h.relay.erasure.erase({ selector: { transId: T }, reason: 'ticket 7', actor: 'cli' });
  t.same(r.rows, { events: 1, callbacks: 2, attempts: 0, cmx_export_records: 2, cmx_rejects: 1, cmx_seen_states: 1, collectmaxx_files: 0, archive: 0 }, 'archive: the default directory, nothing in it yet');
  t.equal(r.purged, true, 'VACUUMed');
  t.same(await hits(), [], 'no table holds the person');
  const recs = (await adminQuery(`SELECT identifier, record, file_name FROM ${schema}.cmx_export_records`)).rows as { identifier: string; record: string; file_name: string | null }[];
  t.equal(recs.length, 1, 'the record not yet in a file is gone (it must not go out)');
  t.same(JSON.parse(recs[0]!.record), { IDENTIFICATION_IDENTIFIER: recs[0]!.identifier, PERSON_FAMILYNAME: '[erased]', INVOICE_AMOUNT: '47.11', CONTROL_FLOWID: 'F1' }, 'the one in a file keeps identifier and amount');
  const [e] = (await adminQuery(`SELECT payload FROM ${schema}.events WHERE trans_id = $1`, [T])).rows as { payload: string }[];
  const payload = JSON.parse(e!.payload) as Record<string, any>;
  t.equal(payload.id, ev!.id);
  t.equal(payload.data.fields.amount, '4711');
  t.equal(payload.erased, true);

  const again = await h.relay.erasure.erase({ selector: { transId: T }, reason: 'repeat', actor: 'cli' });
  t.equal(again.total, 0, 'a repeat changes nothing');
  const audit = (await adminQuery(`SELECT actor, reason, total FROM ${schema}.erasures ORDER BY seq`)).rows;
  t.same(audit, [{ actor: 'cli', reason: 'ticket 7', total: 7 }, { actor: 'cli', reason: 'repeat', total: 0 }]);
});

t.test('the erase command: usage errors exit 2, an erasure exits 0 and leaves nothing in the file', async (t) => {
  t.ok(existsSync(CLI), 'built (npm run build)');
  const dir = tmpDir(t);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(baseConfig(dir)));
  const h = await startRelay(t, baseConfig(dir), { listen: false, delivery: false });
  const T = transId('ERC');
  t.equal((await post(h, '/paygate/notify/debtor', { transId: T, payId: 'PAYA1', extra: PERSON })).statusCode, 200);
  await h.close();

  for (const [args, why] of [
    [['erase', '--config', file, '--reason', 'x'], 'no selector'],
    [['erase', '--config', file, '--trans-id', T, '--pay-id', 'P', '--reason', 'x'], 'two selectors'],
    [['erase', '--config', file, '--trans-id', T], 'no reason'],
    [['erase', '--config', file, '--trans-id', T, '--reason', 'x'.repeat(501)], 'a reason too long'],
    [['erase', '--config', file, '--trans-id', T, '--bogus'], 'an unknown option'],
  ] as const) {
    const r = await cli([...args]);
    t.equal(r.code, 2, `${why}: exit 2 (${r.stderr.trim()})`);
  }
  const db = join(dir, 'relay.db');
  t.ok(readFileSync(db).includes(Buffer.from(LAST)) || readFileSync(`${db}-wal`).includes(Buffer.from(LAST)), 'planted');

  const ok = await cli(['erase', '--config', file, '--trans-id', T, '--reason', 'ticket 9']);
  t.equal(ok.code, 0, ok.stderr);
  const out = JSON.parse(ok.stdout) as { rows: Record<string, number>; total: number; purged: boolean };
  t.equal(out.rows.events, 1);
  t.equal(out.rows.callbacks, 1);
  t.equal(out.purged, true);
  const bytes = Buffer.concat([db, `${db}-wal`].filter(existsSync).map((f) => readFileSync(f)));
  t.notOk(bytes.includes(Buffer.from(LAST)), 'not in the database file or its WAL');
  t.notOk(bytes.includes(Buffer.from(IBAN)));
  const conn = new Database(db, { readonly: true });
  t.teardown(() => conn.close());
  t.same(conn.prepare('SELECT actor, reason, total FROM erasures').all(), [{ actor: 'cli', reason: 'ticket 9', total: 2 }]);
});
