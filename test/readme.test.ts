// README.md is the operator's reference for config keys and metrics: a key or
// metric added in code without its README row fails here (openapi.test.ts does
// the same for routes and event types against openapi.yaml).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { exportConfigSchema, importConfigSchema } from '../src/collectmaxx/core/config.js';
import { configSchema } from '../src/config/schema.js';
import { baseConfig, startRelay, tmpDir } from './helpers/relay.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** A table row of the README that starts with this key (`key`, `key.sub`, `key[]`). */
const hasRow = (key: string) => new RegExp(`^\\| \`${key.replace(/[.[\]$]/g, '\\$&')}[\`.\\[]`, 'm').test(readme);

t.test('every top-level config key has a README row', async (t) => {
  for (const key of Object.keys(configSchema.shape).filter((k) => k !== '$comment')) t.ok(hasRow(key), key);
});

t.test('every collectmaxx export/import key has a README row', async (t) => {
  for (const key of Object.keys(exportConfigSchema.shape)) t.ok(hasRow(`collectmaxx.export.${key}`), `collectmaxx.export.${key}`);
  for (const key of Object.keys(importConfigSchema.shape)) t.ok(hasRow(`collectmaxx.import.${key}`), `collectmaxx.import.${key}`);
});

t.test('every paygate_relay_* metric the relay registers is in the README metrics table', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false });
  const names = (await h.relay.metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('paygate_relay_'));
  t.ok(names.length > 20, `${names.length} metrics`);
  for (const name of names) t.ok(hasRow(name), name);
});
