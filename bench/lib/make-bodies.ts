// Child process of harness.ts: builds callbacks with the simulator and prints
// one form body per line. Two of these run in parallel, because each callback
// pays a fresh Blowfish key schedule inside buildCallback (~0.2 ms).
// Usage: make-bodies.ts PREFIX FROM COUNT
import { buildBody } from './harness.js';

const [prefix, from, count] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const lines: string[] = [];
for (let i = from; i < from + count; i++) {
  lines.push(buildBody(`${prefix}${i}`).body.toString('latin1'));
  if (lines.length === 2000) process.stdout.write(lines.splice(0).join('\n') + '\n');
}
if (lines.length) process.stdout.write(lines.join('\n') + '\n');
