// One migration runner, one ledger, SQL files per dialect: both dialects end up
// with the same tables, columns and indexes; a database created by release
// 0.1.0 (before the ledger) upgrades without running anything twice; a failing
// file leaves nothing behind.
import t from 'tap';
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { collectmaxxStorage } from '../../src/collectmaxx/storage.js';
import type { StoreExtension } from '../../src/store/extension.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { defineWrites } from '../../src/store/write-ops.js';
import { adminQuery, freshSchema, pgUrl, sharePostgres } from '../helpers/pg.js';
import { tmpDir } from '../helpers/relay.js';

type Tap = Parameters<Parameters<typeof t.test>[1]>[0];

/** Tables → columns (name, not null), and named indexes → table, columns, partial; constraints as column lists. */
interface Shape {
  tables: Record<string, string[]>;
  indexes: Record<string, string>;
  keys: string[];
}

const col = (name: string, notNull: boolean) => `${name}${notNull ? ' NOT NULL' : ''}`;

function sqliteShape(file: string): Shape {
  const db = new Database(file, { readonly: true });
  try {
    const shape: Shape = { tables: {}, indexes: {}, keys: [] };
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all() as string[];
    for (const table of tables) {
      const cols = db.prepare(`SELECT name, "notnull" AS nn, pk FROM pragma_table_info(?) ORDER BY cid`).all(table) as { name: string; nn: number; pk: number }[];
      // A primary key column is NOT NULL in PostgreSQL; SQLite only says so for INTEGER PRIMARY KEY.
      shape.tables[table] = cols.map((c) => col(c.name, c.nn === 1 || c.pk > 0));
      const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      if (pk.length) shape.keys.push(`${table} PRIMARY (${pk.join(', ')})`);
      for (const ix of db.prepare(`SELECT name, "unique" AS u, origin, partial FROM pragma_index_list(?)`).all(table) as { name: string; u: number; origin: string; partial: number }[]) {
        const cols = (db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck().all(ix.name) as string[]).join(', ');
        if (ix.origin === 'u') shape.keys.push(`${table} UNIQUE (${cols})`);
        else if (ix.origin === 'c') shape.indexes[ix.name] = `${ix.u ? 'UNIQUE ' : ''}${table} (${cols})${ix.partial ? ' partial' : ''}`;
      }
    }
    shape.keys.sort();
    return shape;
  } finally {
    db.close();
  }
}

async function postgresShape(schema: string): Promise<Shape> {
  const shape: Shape = { tables: {}, indexes: {}, keys: [] };
  const cols = (await adminQuery(
    `SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, [schema],
  )).rows as { table_name: string; column_name: string; is_nullable: string }[];
  for (const c of cols) (shape.tables[c.table_name] ??= []).push(col(c.column_name, c.is_nullable === 'NO'));
  const ixs = (await adminQuery(
    `SELECT t.relname AS table, i.relname AS name, x.indisunique AS u, x.indisprimary AS pk, x.indpred IS NOT NULL AS partial,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) AS constraint,
            (SELECT string_agg(a.attname, ', ' ORDER BY o.n) FROM unnest(x.indkey) WITH ORDINALITY AS o(k, n)
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = o.k) AS cols
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace
      WHERE s.nspname = $1`, [schema],
  )).rows as { table: string; name: string; u: boolean; pk: boolean; partial: boolean; constraint: boolean; cols: string }[];
  for (const ix of ixs) {
    if (ix.pk) shape.keys.push(`${ix.table} PRIMARY (${ix.cols})`);
    else if (ix.constraint) shape.keys.push(`${ix.table} UNIQUE (${ix.cols})`);
    else shape.indexes[ix.name] = `${ix.u ? 'UNIQUE ' : ''}${ix.table} (${ix.cols})${ix.partial ? ' partial' : ''}`;
  }
  shape.keys.sort();
  return shape;
}

/**
 * Where the dialects differ on purpose, each with its reason. Everything else must match.
 * - callbacks.rid: PostgreSQL has no rowid; rid (BIGSERIAL) is the arrival order that quarantine paging and export walk.
 *   Its UNIQUE constraint and the two callbacks indexes use it where SQLite uses (received_at, id) / its rowid.
 * - deliveries_open: PostgreSQL only. Its claim (one statement, FOR UPDATE SKIP LOCKED) takes its ORDER BY
 *   straight from it (it holds event_seq too) and stops after LIMIT rows. SQLite dropped it (0006): its claim
 *   walks deliveries_due / deliveries_leased, and its queue counts use deliveries_order (same condition).
 * - deliveries_due, deliveries_leased: SQLite only. SQLite's claim is a UNION ALL of one walk per index;
 *   PostgreSQL's is one ordered walk of deliveries_open. With both indexes present and the statistics of a
 *   table that just filled (no ANALYZE yet), PostgreSQL 15 planned the claim as a BitmapOr over them plus a
 *   sort of the whole due backlog: 1.7 s per claim at 200,000 deliveries instead of 8 ms.
 */
const POSTGRES_ONLY = { columns: ['callbacks.rid NOT NULL'], keys: ['callbacks UNIQUE (rid)'] };
const DIFFERENT_INDEXES: Record<string, { sqlite: string | null; postgres: string }> = {
  callbacks_received: { sqlite: 'callbacks (received_at, id)', postgres: 'callbacks (received_at, rid)' },
  callbacks_quarantined: { sqlite: 'callbacks (received_at, id) partial', postgres: 'callbacks (rid) partial' },
  deliveries_open: { sqlite: null, postgres: 'deliveries (endpoint_id, next_attempt_at, event_seq) partial' },
};
const SQLITE_ONLY_INDEXES = ['deliveries_due', 'deliveries_leased'];

function compare(t: Tap, lite: Shape, pg: Shape, what: string): void {
  t.same(Object.keys(pg.tables).sort(), Object.keys(lite.tables).sort(), `${what}: same tables`);
  for (const [table, cols] of Object.entries(lite.tables)) {
    const pgCols = (pg.tables[table] ?? []).filter((c) => !POSTGRES_ONLY.columns.includes(`${table}.${c}`));
    t.same(pgCols, cols, `${what}: ${table} has the same columns in the same order (nullability included)`);
  }
  t.same(pg.keys.filter((k) => !POSTGRES_ONLY.keys.includes(k)), lite.keys, `${what}: same primary keys and unique constraints`);
  const names = new Set([...Object.keys(lite.indexes), ...Object.keys(pg.indexes)]);
  for (const name of [...names].sort()) {
    const l = lite.indexes[name] ?? null;
    const p = pg.indexes[name] ?? null;
    if (SQLITE_ONLY_INDEXES.includes(name)) {
      t.ok(l && p === null, `${what}: ${name} is SQLite only (see the comment above)`);
    } else if (DIFFERENT_INDEXES[name]) {
      t.same({ sqlite: l, postgres: p }, DIFFERENT_INDEXES[name], `${what}: ${name} differs only as documented`);
    } else {
      t.equal(p, l, `${what}: index ${name}`);
    }
  }
}

async function freshSqlite(t: Tap, file = join(tmpDir(t), 'fresh.db')): Promise<string> {
  const s = new SqliteStore(file);
  s.extend(collectmaxxStorage);
  await s.migrate();
  await s.close();
  return file;
}

async function freshPostgres(t: Tap): Promise<string> {
  const schema = freshSchema(t, 'parity');
  const s = new PostgresStore(pgUrl(schema));
  s.extend(collectmaxxStorage);
  await s.migrate();
  await s.close();
  return schema;
}

const ledger = (rows: { scope: string; version: number | string; name: string }[]) =>
  rows.map((r) => `${r.scope} ${Number(r.version)} ${r.name}`).sort();

/** After an upgrade the ledger holds every migration file of the release, once: `scope version name`, sorted as ledger() sorts. */
function expectedLedger(dialect: 'sqlite' | 'postgres'): string[] {
  const scopes = { core: new URL('../../src/store/migrations/', import.meta.url), collectmaxx: new URL('../../src/collectmaxx/migrations/', import.meta.url) };
  return Object.entries(scopes).flatMap(([scope, dir]) => readdirSync(new URL(`${dialect}/`, dir)).flatMap((f) => {
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(f);
    return m ? [`${scope} ${Number(m[1])} ${m[2]}`] : [];
  })).sort();
}

t.test('both dialects: the same tables, columns, keys and indexes (core and Collectmaxx), up to type names', async (t) => {
  await sharePostgres(t);
  const lite = sqliteShape(await freshSqlite(t));
  const pg = await postgresShape(await freshPostgres(t));
  t.ok(Object.keys(lite.tables).includes('cmx_export_records') && Object.keys(lite.tables).includes('migrations'), 'feature tables and the ledger are there');
  compare(t, lite, pg, 'fresh');
});

t.test('SQLite: a database made by 0.1.0 upgrades: old ledgers adopted, nothing runs twice, data and old ledgers kept', async (t) => {
  const file = join(tmpDir(t), 'old.db');
  const old = new Database(file);
  old.exec(readFileSync(new URL('fixtures/v0.1.0-sqlite.sql', import.meta.url), 'utf8'));
  old.close();

  const s = new SqliteStore(file, { writer: 'thread' });
  const cmx = s.extend(collectmaxxStorage);
  await s.migrate();
  await s.migrate();
  const db = new Database(file, { readonly: true });
  t.teardown(() => db.close());
  t.same(ledger(db.prepare('SELECT scope, version, name FROM migrations').all() as never[]),
    expectedLedger('sqlite'), 'versions adopted from schema_migrations and cmx_schema_migrations, then the newer ones run');
  t.equal(Number(db.prepare(`SELECT applied_at FROM migrations WHERE scope = 'core' AND version = 2`).pluck().get()), 1796410965446, 'with their original time');
  t.same(db.prepare('SELECT version FROM schema_migrations ORDER BY 1').pluck().all(), [1, 2], 'the old ledger is left for a previous release');

  const claimed = await s.claim('erp', 'me', 1767225600000 + 1, 60_000, 10);
  t.same(claimed.map((c) => c.eventId), ['evt_01KAAAAAAAAAAAAAAAAAAAAAAA'], 'the stored delivery goes out');
  t.equal((await cmx.pendingSummary()).count, 1, 'the Collectmaxx record is still queued');
  await s.close();

  const upgraded = sqliteShape(file);
  for (const legacy of ['schema_migrations', 'cmx_schema_migrations']) delete upgraded.tables[legacy];
  upgraded.keys = upgraded.keys.filter((k) => !k.includes('schema_migrations'));
  t.same(upgraded, sqliteShape(await freshSqlite(t)), 'the same schema as a fresh database (besides the old ledgers)');
});

t.test('PostgreSQL: a schema made by 0.1.0 upgrades the same way', async (t) => {
  await sharePostgres(t);
  const schema = freshSchema(t, 'old');
  await adminQuery(readFileSync(new URL('fixtures/v0.1.0-postgres.sql', import.meta.url), 'utf8').replaceAll('__SCHEMA__', schema));
  const stores = [1, 2].map(() => new PostgresStore(pgUrl(schema)));
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const cmx = stores.map((s) => s.extend(collectmaxxStorage));
  // Two instances of the new release starting together.
  await Promise.all(stores.map((s) => s.migrate()));
  t.same(ledger((await adminQuery(`SELECT scope, version, name FROM ${schema}.migrations`)).rows), expectedLedger('postgres'), 'adopted once, then the newer ones run once');
  t.same((await adminQuery(`SELECT version FROM ${schema}.schema_migrations`)).rows.map((r) => r.version), [1], 'the old ledger is left for a previous release');
  const claimed = await stores[0]!.claim('erp', 'me', 1767225600000 + 1, 60_000, 10);
  t.same(claimed.map((c) => c.eventId), ['evt_01KAAAAAAAAAAAAAAAAAAAAAAA'], 'the stored delivery goes out');
  t.equal((await cmx[1]!.pendingSummary()).count, 1, 'the Collectmaxx record is still queued');

  const upgraded = await postgresShape(schema);
  for (const legacy of ['schema_migrations', 'cmx_schema_migrations']) delete upgraded.tables[legacy];
  upgraded.keys = upgraded.keys.filter((k) => !k.includes('schema_migrations'));
  t.same(upgraded, await postgresShape(await freshPostgres(t)), 'the same schema as a fresh one (besides the old ledgers)');
});

/** A feature whose second migration fails halfway. */
function brokenFeature(t: Tap): StoreExtension<null> {
  const dir = join(tmpDir(t), 'migrations');
  for (const dialect of ['sqlite', 'postgres']) {
    mkdirSync(join(dir, dialect), { recursive: true });
    writeFileSync(join(dir, dialect, '0001_first.sql'), 'CREATE TABLE zz_first (id INTEGER PRIMARY KEY);\n');
    writeFileSync(join(dir, dialect, '0002_second.sql'), 'CREATE TABLE zz_second (id INTEGER PRIMARY KEY);\nINSERT INTO zz_missing VALUES (1);\n');
  }
  return {
    migrations: { scope: 'zz', dir: pathToFileURL(`${dir}/`) },
    sqlite: { writes: defineWrites({ scope: 'zz', module: import.meta.url, exportName: 'none' }, {}), open: () => null },
    postgres: { open: () => null },
  };
}

const failing: Record<string, (t: Tap) => Promise<{ store: Store; tables: () => Promise<string[]> }>> = {
  sqlite: async (t) => {
    const file = join(tmpDir(t), 'broken.db');
    const store = new SqliteStore(file);
    t.teardown(() => store.close());
    return { store, tables: async () => new Database(file, { readonly: true }).prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1`).pluck().all() as string[] };
  },
  postgres: async (t) => {
    await sharePostgres(t);
    const schema = freshSchema(t, 'broken');
    const store = new PostgresStore(pgUrl(schema));
    t.teardown(() => store.close());
    return { store, tables: async () => (await adminQuery('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])).rows.map((r) => r.table_name) };
  },
};

for (const [dialect, make] of Object.entries(failing)) {
  t.test(`${dialect}: a failing migration file stops the start and leaves nothing of the run behind`, async (t) => {
    const { store, tables } = await make(t);
    store.extend(brokenFeature(t));
    await t.rejects(store.migrate(), /zz_missing/, 'the error names what failed');
    t.same(await tables(), [], 'no core table, no ledger, no zz_first: one transaction');
  });
}
