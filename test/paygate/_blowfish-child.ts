// Child of blowfish-backends.test.ts (not a test itself). Reads JSON lines
// {key, data} (hex) on stdin and answers {backend, detected, plain} with the
// relay's BlowfishCipher as this process configures it, so the test can run it
// with and without --openssl-legacy-provider.
import { createInterface } from 'node:readline';
import { BLOWFISH_BACKEND, BlowfishCipher } from '../../src/paygate/blowfish.js';

const ciphers = new Map<string, BlowfishCipher>();
createInterface({ input: process.stdin }).on('line', (line) => {
  const { key, data } = JSON.parse(line) as { key: string; data: string };
  let c = ciphers.get(key);
  if (!c) ciphers.set(key, (c = new BlowfishCipher(Buffer.from(key, 'hex'))));
  process.stdout.write(JSON.stringify({ detected: BLOWFISH_BACKEND, backend: c.backend, plain: c.decrypt(Buffer.from(data, 'hex')).toString('hex') }) + '\n');
});
