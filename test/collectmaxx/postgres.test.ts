// Several relay processes on one PostgreSQL schema (real server on 127.0.0.1):
// each has its own exporter and outbox directory; together they must write
// every record exactly once, under names that never repeat.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCsv } from '../../src/collectmaxx/core/index.js';
import { notify, until } from '../delivery/_lib.js';
import { freshSchema, pgUrl, sharePostgres } from '../helpers/pg.js';
import { baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { GOOD, RULE } from './_relay.js';

t.test('two exporters on one PostgreSQL schema never write the same record twice', async (t) => {
  await sharePostgres(t);
  const storage = pgUrl(freshSchema(t, 'cmxexp'));
  const dir = tmpDir(t);
  const outboxes = [join(dir, 'a'), join(dir, 'b')];
  const relays = [];
  for (const outbox of outboxes) {
    relays.push(await startRelay(t, baseConfig(dir, {
      storage,
      collectmaxx: { export: { clientNumber: '4711', outboxDir: outbox, defaultCountryCode: '49', batch: { maxRecords: 3, maxDelayMs: 300 }, rules: [RULE] } },
    })));
  }
  const transIds: string[] = [];
  // Callbacks land on both instances, concurrently.
  await Promise.all(relays.map(async (h) => {
    for (let i = 0; i < 15; i++) transIds.push((await notify(h.url, GOOD, 'OC')).transId);
  }));
  const written = () => outboxes.flatMap((o) => readdirSync(o).filter((f) => !f.startsWith('.')).map((f) => ({ outbox: o, name: f })));
  const identifiers = () => written().flatMap((f) => readCsv(readFileSync(join(f.outbox, f.name))).slice(1).map((r) => r.cells[0]!.value));
  await until('every record written', () => identifiers().length >= 30, 15_000);
  await new Promise((r) => setTimeout(r, 500)); // a double write would show up by now
  const ids = identifiers();
  t.equal(ids.length, 30, 'thirty events, thirty records');
  t.equal(new Set(ids).size, 30, 'no record in two files');
  for (const id of transIds) t.ok(ids.some((x) => x.startsWith(`pgr1.ShopTest.${id}.`)), `${id} exported`);
  const names = written().map((f) => f.name);
  t.equal(new Set(names).size, names.length, 'no file name used by both instances');
  t.ok(written().every((f) => readCsv(readFileSync(join(f.outbox, f.name))).length - 1 <= 3), 'no file over maxRecords');
  t.comment(`files per instance: ${outboxes.map((o) => readdirSync(o).length).join(' / ')}`);
});
