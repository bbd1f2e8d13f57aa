import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { buildOpenApi } from '../src/openapi.js';
import { COLLECTMAXX_EVENT_TYPES } from '../src/collectmaxx/core/events.js';
import { EVENT_TYPES } from '../src/paygate/operation.js';
import { baseConfig, startRelay, tmpDir } from './helpers/relay.js';

const doc = parse(readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, unknown>>; webhooks: Record<string, unknown> };

t.test('openapi.yaml is what the code generates (regenerate: paygate-relay openapi > openapi.yaml)', async (t) => {
  t.same(doc, await buildOpenApi());
});

t.test('every served route is documented and every documented route is served', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const served = h.app.servedRoutes.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`).sort();
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
  t.same(served, documented);
});

t.test('every event type has a webhook entry', async (t) => {
  t.same(Object.keys(doc.webhooks).sort(), [...EVENT_TYPES, 'callback.conflict', ...COLLECTMAXX_EVENT_TYPES].sort());
});
