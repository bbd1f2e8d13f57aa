import t from 'tap';
import { planFlush } from '../../src/collectmaxx/core/batch.js';

const policy = { maxRecords: 3, maxDelayMs: 60_000 };

t.test('a file is cut when full or when the oldest record has waited long enough', async (t) => {
  t.same(planFlush({ count: 0, oldestQueuedAtMs: null }, 1000, policy), { take: 0, wakeAtMs: null });
  t.same(planFlush({ count: 2, oldestQueuedAtMs: 1000 }, 30_000, policy), { take: 0, wakeAtMs: 61_000 });
  t.same(planFlush({ count: 2, oldestQueuedAtMs: 1000 }, 61_000, policy), { take: 2, wakeAtMs: null });
  t.same(planFlush({ count: 3, oldestQueuedAtMs: 1000 }, 2000, policy), { take: 3, wakeAtMs: null });
  t.same(planFlush({ count: 7, oldestQueuedAtMs: 1000 }, 2000, policy), { take: 3, wakeAtMs: 2000 }, 'more than a file: again at once');
  t.same(planFlush({ count: 1, oldestQueuedAtMs: 5000 }, 5000, { maxRecords: 10, maxDelayMs: 0 }), { take: 1, wakeAtMs: null }, 'no delay');
});
