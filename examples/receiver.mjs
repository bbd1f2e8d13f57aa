// A webhook receiver for paygate-relay: verifies the Standard Webhooks signature, then prints the event.
//   WEBHOOK_SECRET=whsec_… PORT=9000 node examples/receiver.mjs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.WEBHOOK_SECRET ?? '';
if (!secret.startsWith('whsec_')) throw new Error('set WEBHOOK_SECRET to the endpoint secret (whsec_…)');
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');

const server = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const id = String(req.headers['webhook-id']), ts = String(req.headers['webhook-timestamp']);
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  // Several `v1,<base64>` signatures during a secret rotation: one that matches is enough.
  const signed = String(req.headers['webhook-signature'] ?? '').split(' ').some((s) => {
    const sig = Buffer.from(s.slice(3), 'base64');
    return s.startsWith('v1,') && sig.length === expected.length && timingSafeEqual(sig, expected);
  });
  const fresh = Math.abs(Date.now() / 1000 - Number(ts)) <= 300; // refuse replays of old deliveries
  if (!signed || !fresh) return res.writeHead(401).end(console.log(`rejected ${id}`));
  const event = JSON.parse(body); // delivery is at-least-once: dedupe on webhook-id (= event.id)
  console.log(`verified ${event.type} ${event.id} transId=${event.data?.transId} outcome=${event.outcome}`);
  res.writeHead(204).end(); // any 2xx within the endpoint's timeoutMs counts as delivered
});
server.listen(Number(process.env.PORT ?? 9000), '127.0.0.1', () => console.log(`receiver listening on http://127.0.0.1:${server.address().port}`));
