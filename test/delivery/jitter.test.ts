// Retry jitter as it reaches production: a real relay, a real receiver that
// fails, and the retry time the relay stores (what GET /admin/events/:id shows).
// Every other relay-level test runs with jitter 0, which hides a dispatcher
// that ignores or fixes its random draw.
import t from 'tap';
import { newSecret, startReceiver } from '../helpers/receiver.js';
import { baseConfig, startRelay, tmpDir } from '../helpers/relay.js';
import { delivery, ep, eventIdOf, notify, until, type DeliveryView } from './_lib.js';

const HOUR = 3_600_000;
// Far beyond the test's run time, so each delivery fails exactly once here, and large
// enough that milliseconds of scheduling noise cannot pass for a different draw.
const SCHEDULE = [0, HOUR, HOUR];

/** Wait for the first (failed) attempt and return the delay the relay stored for the retry. */
async function storedDelay(h: Parameters<typeof delivery>[0], id: string): Promise<{ delay: number; view: DeliveryView }> {
  const view = await until(`${id} failed once`, async () => {
    const v = await delivery(h, id, 'hook');
    return v.state === 'pending' && v.attempts === 1 ? v : null;
  });
  const a = view.attemptLog[0]!;
  // The retry is scheduled from the moment the answer came in: startedAt + the request's duration.
  return { delay: Date.parse(view.nextAttemptAt!) - Date.parse(a.startedAt), view };
}

t.test('the injected random draw decides the stored retry time (jitter 0.5)', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  rx.behave(() => ({ status: 500, body: 'down' }));
  const draws = [0.9, 0.1];
  const h = await startRelay(t, baseConfig(tmpDir(t), { endpoints: [ep('hook', rx.url, secret, { retryScheduleMs: SCHEDULE, jitter: 0.5, concurrency: 1 })] }), {
    random: () => draws.shift() ?? 0.5,
  });
  const first = await eventIdOf(h, await notify(h.url));
  const a = await storedDelay(h, first);
  const second = await eventIdOf(h, await notify(h.url));
  const b = await storedDelay(h, second);
  // 1 h × (1 + 0.5 × (2r − 1)), worked out by hand: r = 0.9 → 1.4 h, r = 0.1 → 0.6 h.
  const slack = (d: { view: DeliveryView }) => d.view.attemptLog[0]!.durationMs + 2000;
  t.ok(a.delay >= 5_040_000 && a.delay <= 5_040_000 + slack(a), `first failure retries after 1.4 h (stored ${a.delay} ms)`);
  t.ok(b.delay >= 2_160_000 && b.delay <= 2_160_000 + slack(b), `second failure retries after 0.6 h (stored ${b.delay} ms)`);
  t.equal(rx.received.length, 2, 'one attempt each so far');
});

t.test('production jitter: without an injected draw, retries of simultaneous failures spread out', async (t) => {
  const secret = newSecret();
  const rx = await startReceiver(t, secret);
  rx.behave(() => ({ status: 503 }));
  const h = await startRelay(t, baseConfig(tmpDir(t), { endpoints: [ep('hook', rx.url, secret, { retryScheduleMs: SCHEDULE, jitter: 0.5, concurrency: 8 })] }));
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) ids.push(await eventIdOf(h, await notify(h.url)));
  const delays = (await Promise.all(ids.map((id) => storedDelay(h, id)))).map((d) => d.delay).sort((x, y) => x - y);
  t.ok(delays.every((d) => d >= HOUR * 0.5 && d <= HOUR * 1.5 + 5000), `every retry within 1 h ± 50 % (${delays.join(', ')} ms)`);
  // A fixed draw would put all eight within milliseconds of one another; eight uniform
  // draws all within one minute of each other happen about once in 10^11 runs.
  t.ok(delays[7]! - delays[0]! > 60_000, `the retries are spread (${Math.round((delays[7]! - delays[0]!) / 1000)} s between first and last)`);
});
