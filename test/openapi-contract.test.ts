// openapi.yaml checked by a real OpenAPI 3.1 validator, and real answers and
// real delivered events checked against it with a JSON Schema 2020-12 validator.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { ADMIN_TOKEN, baseConfig, startRelay, tmpDir } from './helpers/relay.js';
import { newSecret, startReceiver } from './helpers/receiver.js';
import { post } from './helpers/paygate.js';

const text = readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8');
const doc = parse(text) as Record<string, any>;

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false, allErrors: true });
(addFormats as unknown as typeof addFormats.default)(ajv);
ajv.addSchema({ ...doc, $id: 'openapi.json' });
const ptr = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
function check(t: any, path: string[], value: unknown, name: string) {
  const validate = ajv.compile({ $ref: `openapi.json#/${ptr(...path)}` });
  const ok = validate(value);
  t.ok(ok, `${name} matches openapi.yaml${ok ? '' : `: ${ajv.errorsText(validate.errors)}`}`);
}

t.test('openapi.yaml is a valid OpenAPI 3.1 document', async (t) => {
  const v = new Validator();
  const res = await v.validate(doc);
  t.ok(res.valid, JSON.stringify(res.errors ?? null).slice(0, 2000));
  t.equal(v.version, '3.1');
});

t.test('real answers and real delivered events match openapi.yaml', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  const h = await startRelay(t, baseConfig(tmpDir(t), { endpoints: [{ id: 'erp', url: rx.url, secret, retryScheduleMs: [0, 50], jitter: 0 }] }));
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const kinds = ['mandate', 'MD', 'OC', 'OS', 'CR', 'AN', 'ST', 'ZE', 'UP'];
  for (const [i, kind] of kinds.entries()) {
    await post(h, `/paygate/notify/${kind}`, { code: ['00000000', '60000041', '22060203'][i % 3]!, userData: 'Müller', custom: { a: '1' }, mandateId: kind === 'mandate' ? 'M-1' : undefined });
  }
  await post(h, '/paygate/notify', {});
  await rx.waitFor((r) => r.length >= kinds.length + 1);
  for (const r of rx.received) check(t, ['webhooks', r.event.type, 'post', 'requestBody', 'content', 'application/json', 'schema'], r.event, `delivered ${r.event.type}`);

  const list = await h.app.inject({ method: 'GET', url: '/admin/events?limit=50', headers: auth });
  check(t, ['paths', '/admin/events', 'get', 'responses', '200', 'content', 'application/json', 'schema'], list.json(), 'GET /admin/events');
  const id = list.json().items[0].id as string;
  const detail = await h.app.inject({ method: 'GET', url: `/admin/events/${id}`, headers: auth });
  check(t, ['paths', '/admin/events/{id}', 'get', 'responses', '200', 'content', 'application/json', 'schema'], detail.json(), 'GET /admin/events/:id');
  const rejected = await h.app.inject({ method: 'POST', url: '/paygate/notify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'Len=1' });
  check(t, ['paths', '/paygate/notify', 'post', 'responses', '400', 'content', 'application/json', 'schema'], rejected.json(), 'a 400 from notify');
  const unauth = await h.app.inject({ method: 'GET', url: '/admin/events' });
  check(t, ['paths', '/admin/events', 'get', 'responses', '401', 'content', 'application/json', 'schema'], unauth.json(), 'a 401 from admin');
  const q = await h.app.inject({ method: 'GET', url: '/admin/quarantine', headers: auth });
  check(t, ['paths', '/admin/quarantine', 'get', 'responses', '200', 'content', 'application/json', 'schema'], q.json(), 'GET /admin/quarantine');
  // The validator must be able to fail: a doctored event is refused.
  const bad = { ...rx.received[0]!.event, outcome: 'maybe' };
  const validate = ajv.compile({ $ref: `openapi.json#/${ptr('components', 'schemas', 'PaygateEvent')}` });
  t.notOk(validate(bad), 'a wrong outcome is rejected by the schema');
});
