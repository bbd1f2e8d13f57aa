// The admin API's route schemas as a caller meets them: a request that does not match
// answers 400 bad_request naming the field, a caller without a token learns nothing but
// 401, and bulk filters may come as query parameters or as a JSON or form body.
import t from 'tap';
import { post } from './helpers/paygate.js';
import { ADMIN_TOKEN, VIEWER_TOKEN, baseConfig, startRelay, tmpDir } from './helpers/relay.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

t.test('a query that does not match its schema is a 400 bad_request with the reason', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const get = async (url: string, headers: Record<string, string> = auth) => {
    const r = await h.app.inject({ method: 'GET', url, headers });
    return { status: r.statusCode, body: r.json() as { error: string; detail?: string } };
  };
  for (const [url, detail] of [
    ['/admin/events?limit=0', 'limit must be 1..200'],
    ['/admin/events?limit=abc', 'limit must be 1..200'],
    ['/admin/quarantine?limit=201', 'limit must be 1..200'],
    ['/admin/events?since=yesterday', 'since must be an ISO 8601 time or epoch milliseconds'],
    ['/admin/dead-letters?until=31.12.2026', 'until must be an ISO 8601 time or epoch milliseconds'],
    ['/admin/events?type=Mandate.%2A', 'type must be an event type or glob such as mandate.*'],
    ['/admin/dead-letters?type=a..b', 'type must be an event type or glob such as mandate.*'],
    ['/admin/events?limit=0&since=x', 'since must be an ISO 8601 time or epoch milliseconds; limit must be 1..200'],
  ] as const) {
    const r = await get(url);
    t.equal(r.status, 400, url);
    t.same(r.body, { error: 'bad_request', message: 'The request is invalid.', detail }, `${url}: ${detail}`);
  }
  t.equal((await get('/admin/events?cursor=not-a-cursor')).body.detail, 'invalid cursor', 'a cursor the store cannot read');

  // Empty values are "no filter", as a cleared form field always was.
  t.equal((await get('/admin/events?type=&since=&limit=&cursor=')).status, 200);
  t.equal((await get(`/admin/events?since=${new Date(Date.now() - 60_000).toISOString()}&until=${Date.now() + 60_000}`)).status, 200);

  const stranger = await get('/admin/events?limit=0', {});
  t.equal(stranger.status, 401, 'no token: 401 before the query is looked at');
  t.equal(stranger.body.error, 'unauthorized');
  const viewer = await h.app.inject({ method: 'POST', url: '/admin/dead-letters/redeliver?dryRun=maybe', headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
  t.equal(viewer.statusCode, 403, 'a viewer is refused before the query is looked at');
});

t.test('bulk filters from the query, a JSON body or a form body; the body wins per key', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  // A merchant not configured yet: unknown_merchant, a reason reprocessing can help.
  const other = { id: 'ShopOther', encryption: 'blowfish' as const, keys: [{ blowfish: Buffer.from('other-bf-key'), hmac: Buffer.from('other-hmac') }] };
  await post(h, '/paygate/notify/OC', { transId: 'Q-1' }, { merchant: other });
  await post(h, '/paygate/notify/OC', { transId: 'Q-2' }, { merchant: other });
  const reprocess = async (url: string, payload?: string, type?: string) => {
    const r = await h.app.inject({ method: 'POST', url, headers: { ...auth, ...(type ? { 'content-type': type } : {}) }, payload });
    return { status: r.statusCode, body: r.json() };
  };
  const later = Date.now() + 60_000;
  t.same((await reprocess(`/admin/quarantine/reprocess?since=${later}`)).body, { processed: 0, accepted: 0, duplicate: 0, conflict: 0, stillQuarantined: 0, skipped: 0 }, 'query filter');
  t.same((await reprocess(`/admin/quarantine/reprocess?since=${later}`, JSON.stringify({ since: 0 }), 'application/json')).body.processed, 2, 'the JSON body overrides the query');
  t.same((await reprocess('/admin/quarantine/reprocess', `reason=unknown_merchant&since=${later}`, 'application/x-www-form-urlencoded')).body.processed, 0, 'a form body');
  const bad = await reprocess('/admin/quarantine/reprocess', JSON.stringify({ since: 'soon' }), 'application/json');
  t.equal(bad.status, 400);
  t.equal(bad.body.detail, 'since must be an ISO 8601 time or epoch milliseconds');

  const dry = await reprocess('/admin/dead-letters/redeliver?dryRun=true', JSON.stringify({ type: 'mandate.*' }), 'application/json');
  t.same(dry.body, { count: 0, dryRun: true }, 'dryRun from the query, the type from the body');
  const notAFlag = await reprocess('/admin/dead-letters/redeliver?dryRun=yes');
  t.equal(notAFlag.status, 400, 'dryRun=yes is refused rather than read as false (which would send)');
  t.match(notAFlag.body.detail, /^dryRun: /);
});
