// Where a relay's CPU went, from the .cpuprofile files `--prof` writes (one
// per thread: main and SQLite writer). Every sample is charged to the first
// frame, walking from the leaf towards the root, that a rule below claims, so
// native work lands on the code that asked for it (an HMAC digest on mac.ts,
// a socket write on node:net). Run alone:
//   node --import tsx bench/lib/profile.ts DIR [CALLBACKS]
// CALLBACKS (callbacks the relay answered during the profile) adds µs per callback.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame { functionName: string; url: string }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

type Rule = [category: string, url: RegExp | null, fn: RegExp | null];

/**
 * Rules in tiers. A sample goes to the innermost frame (leaf first) matched by
 * the first tier that matches any frame of its stack: a hash inside mac.ts is
 * HMAC although node:crypto is nearer the leaf, and a socket write under the
 * route handler is a socket write, not the route.
 */
const TIERS: Rule[][] = [
  [
    ['idle', null, /^\(idle\)$/],
    ['garbage collection', null, /^\(garbage collector\)$/],
    ['start-up: module loading and compiling', /^node:internal\/modules\//, null],
  ],
  [
    ['Blowfish', /blowfish/, null],
    ['hex decode', /paygate\/hex\./, null],
    ['HMAC verify (mac.ts)', /paygate\/mac\./, null],
    ['form parse (paygate/form.ts)', /paygate\/form\./, null],
    ['field parse + Len rule (fields, plaintext)', /paygate\/(fields|plaintext)\./, null],
    ['decode rest (decode, code, operation)', /paygate\/(decode|code|operation|merchant)\./, null],
    ['event build + zod', /(\/events\/|\/zod\/)/, null],
    ['ids', /\/ids\./, null],
    ['logging (pino)', /(\/pino|\/logger\.|sonic-boom|fast-redact|thread-stream)/, null],
    ['metrics (prom-client)', /(prom-client|\/metrics\.)/, null],
    ['writer IPC: postMessage / structured clone', null, /^(postMessage|structuredClone|serialize|deserialize|\[worker\] onmessage)$/],
    ['writer IPC: postMessage / structured clone', /(internal\/worker|per_context\/messageport)/, null],
    ['SQLite (better-sqlite3; in the writer: includes fsync waits)', /better-sqlite3/, null],
    ['store code (src/store)', /\/store\//, null],
    ['delivery (dispatcher, sender, undici)', /(\/delivery\/|undici)/, null],
    ['collectmaxx', /\/collectmaxx\//, null],
    ['intake glue: dedupe hash, draft, objects (intake.ts)', /\/intake\./, null],
  ],
  [
    ['socket write / read (node:net, streams)', /^node:(net|internal\/stream_base_commons|internal\/streams)/, null],
    ['HTTP parse + response (node:_http_*)', /^node:(_http_|internal\/http)/, null],
  ],
  [
    ['Fastify (routing, hooks, body, reply)', /(fastify|find-my-way|avvio|light-my-request|fast-json-stringify|content-type)/, null],
    ['callback route (routes/paygate.ts)', /routes\/paygate\./, null],
    ['timers, promises, nextTick (node internals)', /^node:internal\/(timers|process\/task_queues|async_hooks)/, null],
    ['other node internals', /^node:/, null],
    ['other relay code', /\/src\/|\/dist\//, null],
    ['other (native, unattributed)', null, /^\(program\)$/],
  ],
];

export function categorize(frames: CallFrame[]): string {
  for (const tier of TIERS) {
    for (const f of frames) {
      for (const [name, url, fn] of tier) {
        if ((url && url.test(f.url)) || (fn && fn.test(f.functionName))) return name;
      }
    }
  }
  return 'other (native, unattributed)';
}

export interface ThreadProfile { file: string; wallMs: number; busyMs: number; byCategory: Map<string, number> }

export function summarizeProfile(file: string): ThreadProfile {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cat = new Map<number, string>();
  const categoryOf = (id: number): string => {
    let c = cat.get(id);
    if (c) return c;
    const frames: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at)!.callFrame);
    c = categorize(frames);
    cat.set(id, c);
    return c;
  };
  const byCategory = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const c = categoryOf(p.samples[i]!);
    byCategory.set(c, (byCategory.get(c) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  const wallMs = (p.endTime - p.startTime) / 1000;
  const busyMs = [...byCategory].filter(([k]) => k !== 'idle').reduce((a, [, v]) => a + v, 0);
  return { file, wallMs, busyMs, byCategory };
}

/** Every .cpuprofile under dir (recursively). */
export function profileFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const f = join(dir, e);
    return statSync(f).isDirectory() ? profileFiles(f) : e.endsWith('.cpuprofile') ? [f] : [];
  });
}

/** A text table per thread: ms, share of busy time, and µs per callback when the count is known. */
export function profileReport(dir: string, callbacks?: number): string {
  const out: string[] = [];
  for (const file of profileFiles(dir)) {
    const t = summarizeProfile(file);
    const rows = [...t.byCategory].sort((a, b) => b[1] - a[1]);
    out.push(`\n${file.slice(dir.length + 1)}: wall ${(t.wallMs / 1000).toFixed(1)} s, busy ${(t.busyMs / 1000).toFixed(2)} s (${((t.busyMs / t.wallMs) * 100).toFixed(0)} %)${callbacks ? `, ${callbacks} callbacks` : ''}`);
    for (const [k, ms] of rows) {
      const share = k === 'idle' ? '' : `${((ms / t.busyMs) * 100).toFixed(1).padStart(5)} %`;
      out.push(`  ${k.padEnd(46)} ${ms.toFixed(0).padStart(7)} ms ${share.padStart(8)}${callbacks && k !== 'idle' ? `  ${((ms * 1000) / callbacks).toFixed(1).padStart(7)} µs/callback` : ''}`);
    }
  }
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [dir, n] = process.argv.slice(2);
  if (!dir) throw new Error('usage: profile.ts DIR [CALLBACKS]');
  console.log(profileReport(dir, n ? Number(n) : undefined));
}
