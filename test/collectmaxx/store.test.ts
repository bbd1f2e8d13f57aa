// The CollectmaxxStore contract, run against both adapters: a real SQLite file
// and a fresh PostgreSQL schema on 127.0.0.1:5432. Each adapter sits on a
// migrated relay store, as in production.
import t from 'tap';
import { join } from 'node:path';
import type { CollectmaxxStore, ExportRecord } from '../../src/collectmaxx/store.js';
import { collectmaxxStorage } from '../../src/collectmaxx/storage.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { freshSchema, pgUrl, sharePostgres } from '../helpers/pg.js';
import { tmpDir } from '../helpers/relay.js';

type Tap = Parameters<Parameters<typeof t.test>[1]>[0];
/** A migrated cmx store; with `sameAs`, a second process's view (own connections) of the same database. */
type Factory = (t: Tap, sameAs?: Store) => Promise<{ main: Store; cmx: CollectmaxxStore }>;

const ADAPTERS: Record<string, Factory> = {
  sqlite: async (t, sameAs) => {
    const main = new SqliteStore(sameAs ? (sameAs as SqliteStore).db.name : join(tmpDir(t), 'cmx.db'));
    const cmx = main.extend(collectmaxxStorage);
    await main.migrate();
    t.teardown(() => main.close());
    return { main, cmx };
  },
  // What the relay runs: cmx writes committed on the relay's writer thread, reads on this thread's connection.
  'sqlite-thread': async (t, sameAs) => {
    const main = new SqliteStore(sameAs ? (sameAs as SqliteStore).db.name : join(tmpDir(t), 'cmx.db'), { writer: 'thread' });
    const cmx = main.extend(collectmaxxStorage);
    await main.migrate();
    t.teardown(() => main.close());
    return { main, cmx };
  },
  postgres: async (t, sameAs) => {
    await sharePostgres(t);
    const main = new PostgresStore(pgUrl(sameAs ? (sameAs as PostgresStore).schema : freshSchema(t, 'cmx')));
    const cmx = main.extend(collectmaxxStorage);
    await main.migrate();
    t.teardown(() => main.close());
    return { main, cmx };
  },
};

let n = 0;
function rec(queuedAt: number, over: Partial<ExportRecord> = {}): ExportRecord {
  n++;
  return {
    identifier: `pgr1.M.T${n}.evt_${n}.F1.0000000000000000`, eventId: `evt_${n}`, merchantId: 'M', transId: `T${n}`, flowId: 'F1', ruleIndex: 0,
    format: 'csv', record: { IDENTIFICATION_IDENTIFIER: `id${n}`, PERSON_FAMILYNAME: `Name ${n}`, CONTROL_FLOWID: 'F1' }, queuedAt, ...over,
  };
}

const alloc = (cmx: CollectmaxxStore, limit: number, now: number, owner = 'me', format: 'csv' | 'xml' = 'csv') =>
  cmx.allocateFile({ day: '2026-01-15', clientNumber: '4711', format, limit, owner, now, leaseMs: 1000 });

for (const [name, make] of Object.entries(ADAPTERS)) {
  t.test(`${name}: export records are unique by identifier; pending summary`, async (t) => {
    const { cmx } = await make(t);
    t.same(await cmx.pendingSummary(), { count: 0, oldestQueuedAt: null });
    const a = rec(1000);
    t.equal(await cmx.addExport(a), true);
    t.equal(await cmx.addExport({ ...a, queuedAt: 5000, record: { X: 'other' } }), false, 'the same identifier again is a no-op (redelivery)');
    await cmx.addExport(rec(900));
    t.same(await cmx.pendingSummary(), { count: 2, oldestQueuedAt: 900 });
    const origins = await cmx.exportOrigins([a.identifier, 'unknown']);
    t.same(origins.get(a.identifier), { merchantId: 'M', transId: a.transId, eventId: a.eventId, flowId: 'F1' });
    t.equal(origins.has('unknown'), false);
  });

  t.test(`${name}: files take the oldest records, names never repeat (formats, restarts), leases guard the mark`, async (t) => {
    const { main, cmx } = await make(t);
    const records = [rec(30), rec(10), rec(20), rec(40), rec(50)];
    for (const r of records) await cmx.addExport(r);
    const f1 = await alloc(cmx, 2, 100);
    t.equal(f1!.name, '20260115-4711-1.csv');
    t.same(f1!.records.map((r) => r.queuedAt), [10, 20], 'the two oldest, oldest first');
    t.same(f1!.records[0]!.record, records[1]!.record, 'the record comes back as stored');
    t.same(await cmx.pendingSummary(), { count: 3, oldestQueuedAt: 30 });
    const f2 = await alloc(cmx, 2, 100, 'me', 'xml');
    t.equal(f2!.name, '20260115-4711-2.xml', 'the sequence is shared by both formats');

    t.same(await cmx.takeUnwritten('other', 500, 1000, false), [], 'a live lease is not taken over');
    t.equal(await cmx.markWritten(f1!.name, 'other', 600), false, 'only the lease owner marks');
    t.equal(await cmx.markWritten(f1!.name, 'me', 600), true);
    t.equal(await cmx.markWritten(f1!.name, 'me', 600), false, 'once');
    const taken = await cmx.takeUnwritten('other', 1200, 1000, false);
    t.same(taken.map((f) => [f.name, f.records.map((r) => r.queuedAt)]), [[f2!.name, [30, 40]]], 'an expired lease is taken over with the same records in the same order');
    t.equal(await cmx.markWritten(f2!.name, 'me', 1300), false, 'the old owner lost it');
    t.equal(await cmx.markWritten(f2!.name, 'other', 1300), true);

    // A second process / a restart: the sequence continues from what is stored.
    const { cmx: again } = await make(t, main);
    const f3 = await alloc(again, 10, 2000);
    t.equal(f3!.name, '20260115-4711-3.csv');
    t.equal(f3!.records.length, 1);
    t.equal(await alloc(again, 10, 2000), null, 'nothing pending: no file');
    t.equal((await again.takeUnwritten('x', 2001, 1000, true)).length, 1, 'takeAll (single process start) takes even a live lease');
    const files = await again.listDeliveryFiles(10);
    t.same(files.map((f) => [f.name, f.recordCount, f.writtenAt]), [[f3!.name, 1, null], [f2!.name, 2, 1300], [f1!.name, 2, 600]]);
  });

  t.test(`${name}: rejects keep every reason, unique per identifier, paged newest first`, async (t) => {
    const { cmx } = await make(t);
    const reasons = [{ field: 'PERSON_GENDER', code: 'gender' as const, message: 'must be M, F or U' }, { field: 'CONTACT_PHONENUMBER_x', code: 'required' as const, message: 'needs one' }];
    for (let i = 0; i < 5; i++) {
      const ok = await cmx.addReject({ identifier: `rej${i}`, eventId: `e${i}`, merchantId: 'M', transId: `T${i}`, flowId: 'F1', ruleIndex: 0, reasons, record: { PERSON_GENDER: 'X' }, createdAt: i });
      t.equal(ok, true);
    }
    t.equal(await cmx.addReject({ identifier: 'rej0', eventId: 'e0', merchantId: 'M', transId: 'T0', flowId: 'F1', ruleIndex: 0, reasons: [], record: {}, createdAt: 9 }), false);
    const p1 = await cmx.listRejects(3);
    t.same(p1.items.map((r) => r.identifier), ['rej4', 'rej3', 'rej2']);
    t.same(p1.items[0]!.reasons, reasons);
    t.same(p1.items[0]!.record, { PERSON_GENDER: 'X' });
    const p2 = await cmx.listRejects(3, p1.next!);
    t.same(p2.items.map((r) => r.identifier), ['rej1', 'rej0']);
    t.equal(p2.next, null);
    await t.rejects(cmx.listRejects(3, Buffer.from('not-a-number').toString('base64url')), /invalid cursor/);
    t.same(p1.items.map((r) => r.resolved), [false, false, false], 'nothing exported for them yet');
    // The rule was fixed and rej3's event redelivered: it is exported under the same identifier.
    await cmx.addExport({ ...rec(100), identifier: 'rej3' });
    t.same((await cmx.listRejects(3)).items.map((r) => [r.identifier, r.resolved]), [['rej4', false], ['rej3', true], ['rej2', false]], 'a reject whose record was exported since is marked resolved');
  });

  t.test(`${name}: imported files by name and hash; seen states`, async (t) => {
    const { cmx } = await make(t);
    t.equal(await cmx.findImport('a.csv', 'h1'), null);
    await cmx.recordImport({ name: 'a.csv', sha256: 'h1', status: 'failed', reason: 'line 2, column 3: x', events: 0, importedAt: 10 });
    t.equal((await cmx.findImport('a.csv', 'h1'))!.status, 'failed');
    await cmx.recordImport({ name: 'a.csv', sha256: 'h1', status: 'imported', reason: null, events: 4, importedAt: 20 });
    t.same(await cmx.findImport('a.csv', 'h1'), { name: 'a.csv', sha256: 'h1', status: 'imported', reason: null, events: 4, importedAt: 20 });
    t.equal(await cmx.findImport('a.csv', 'h2'), null, 'same name, other content: a different file');
    await cmx.recordImport({ name: 'b.csv', sha256: 'h3', status: 'imported', reason: null, events: 0, importedAt: 30 });
    t.same((await cmx.listImports(10)).map((f) => f.name), ['b.csv', 'a.csv']);

    t.same([...await cmx.seenStates(['s1', 's2'])], []);
    await cmx.addSeenStates([{ stateKey: 's1', subjectKey: 'x', identifier: 'id1', firstSeenAt: 1 }, { stateKey: 's2', subjectKey: 'x', identifier: null, firstSeenAt: 1 }]);
    await cmx.addSeenStates([{ stateKey: 's1', subjectKey: 'x', identifier: 'id1', firstSeenAt: 2 }]);
    t.same([...await cmx.seenStates(['s1', 's2', 's3'])].sort(), ['s1', 's2']);
  });
}

t.test('postgres: concurrent allocations from several processes never share a record or a name', async (t) => {
  const { main, cmx } = await ADAPTERS.postgres!(t);
  const others = await Promise.all([1, 2, 3].map(() => ADAPTERS.postgres!(t, main)));
  const all = [cmx, ...others.map((o) => o.cmx)];
  for (let i = 0; i < 60; i++) await cmx.addExport(rec(i));
  const got: { name: string; ids: string[] }[] = [];
  await Promise.all(all.map(async (s, k) => {
    for (;;) {
      const f = await s.allocateFile({ day: '2026-01-15', clientNumber: '4711', format: 'csv', limit: 7, owner: `p${k}`, now: 1000, leaseMs: 1000 });
      if (!f) return;
      got.push({ name: f.name, ids: f.records.map((r) => r.identifier) });
    }
  }));
  const ids = got.flatMap((g) => g.ids);
  t.equal(ids.length, 60, 'every record allocated');
  t.equal(new Set(ids).size, 60, 'no record twice');
  t.equal(new Set(got.map((g) => g.name)).size, got.length, 'no name twice');
  t.same(got.map((g) => g.name).sort((a, b) => Number(a.split('-')[2]!.split('.')[0]) - Number(b.split('-')[2]!.split('.')[0])),
    Array.from({ length: 9 }, (_, i) => `20260115-4711-${i + 1}.csv`), 'sequences 1..9 without gaps');
});
