// A bare Fastify server, run as a child process by harness.ts (never imported).
//   intake:   POST /paygate/notify[/:kind] with @fastify/formbody, answers `ok`: the HTTP stack's ceiling.
//   receiver: takes the relay's deliveries (JSON), answers 204 and records the
//             latency from the event's receivedAt to this handler.
// Reports its port over IPC; answers { id, take } with { id, count, latencies, receivedAts }.
import formbody from '@fastify/formbody';
import Fastify from 'fastify';

const kind = process.argv[2];
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
let count = 0;
let latencies: number[] = [];
/** receivedAt (epoch ms) of each latency, so a run can be split into windows. */
let receivedAts: number[] = [];

if (kind === 'intake') {
  await app.register(formbody);
  app.post('/paygate/notify', async () => 'ok');
  app.post('/paygate/notify/:kind', async () => 'ok');
} else if (kind === 'receiver') {
  app.post('/hook', async (req, reply) => {
    // Wall clock on both sides: the relay child and this one share the machine's clock.
    const at = performance.timeOrigin + performance.now();
    const receivedAt = Date.parse((req.body as { receivedAt: string }).receivedAt);
    latencies.push(at - receivedAt);
    receivedAts.push(receivedAt);
    count++;
    return reply.code(204).send();
  });
} else {
  throw new Error(`bare-server: unknown kind ${kind}`);
}
app.get('/readyz', async () => 'ok');

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.send!({ port: Number(new URL(address).port) });
process.on('message', (m: { id: number; take: boolean }) => {
  process.send!({ id: m.id, count, latencies: m.take ? latencies : [], receivedAts: m.take ? receivedAts : [] });
  if (m.take) {
    latencies = [];
    receivedAts = [];
  }
});
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
