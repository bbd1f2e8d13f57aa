// Independent cipher oracle for tests: OpenSSL through node:crypto, run as a
// child process with --openssl-legacy-provider (Node 20's bf-ecb needs it and
// the product never runs with it). Shares no code with src/paygate.
//
// Protocol: one JSON object per line on stdin
//   { id, op: 'encrypt' | 'decrypt', cipher: 'bf-ecb' | 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc',
//     key: hex, iv?: hex, data: hex }
// answered by one line on stdout: { id, ok: true, data: hex } or { id, ok: false, error }.
// bf-ecb runs without padding (the caller pads); AES uses OpenSSL's PKCS#7.
// { id, op: 'ping' } answers { id, ok: true, legacy: <bf-ecb usable> }.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createInterface } from 'node:readline';

function run(req) {
  if (req.op === 'ping') {
    let legacy = true;
    try {
      createCipheriv('bf-ecb', Buffer.from('probe'), null);
    } catch {
      legacy = false;
    }
    return { id: req.id, ok: true, legacy };
  }
  const key = Buffer.from(req.key, 'hex');
  const data = Buffer.from(req.data, 'hex');
  const isBf = req.cipher === 'bf-ecb';
  const iv = isBf ? null : Buffer.from(req.iv, 'hex');
  let c;
  if (req.op === 'encrypt') c = createCipheriv(req.cipher, key, iv);
  else if (req.op === 'decrypt') c = createDecipheriv(req.cipher, key, iv);
  else throw new Error(`unknown op ${req.op}`);
  if (isBf) {
    c.setAutoPadding(false);
  }
  const out = Buffer.concat([c.update(data), c.final()]);
  return { id: req.id, ok: true, data: out.toString('hex') };
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    process.stdout.write(JSON.stringify({ id: null, ok: false, error: 'bad json' }) + '\n');
    return;
  }
  let res;
  try {
    res = run(req);
  } catch (e) {
    res = { id: req.id, ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(res) + '\n');
});
