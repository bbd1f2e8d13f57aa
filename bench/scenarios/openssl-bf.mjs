// Child of crypto.ts, run as `node --openssl-legacy-provider openssl-bf.mjs INPUT.json`:
// OpenSSL's bf-ecb through node:crypto over the same ciphertexts the relay decrypts.
// Node exposes no reusable OpenSSL key schedule, so each decrypt keys a new
// decipher, as any caller of createDecipheriv would. Prints one JSON line.
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const key = Buffer.from(input.key, 'hex');
const data = input.data.map((h) => Buffer.from(h, 'hex'));
const decrypt = (buf) => {
  const d = createDecipheriv('bf-ecb', key, null);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(buf), d.final()]);
};
for (const buf of data) decrypt(buf); // warm-up pass
let ops = 0;
const start = performance.now();
while (performance.now() - start < input.minMs) for (const buf of data) (decrypt(buf), ops++);
const ms = performance.now() - start;
process.stdout.write(JSON.stringify({ ops, ms, first: decrypt(data[0]).toString('hex') }) + '\n');
