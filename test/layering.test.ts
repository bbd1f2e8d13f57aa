// The layering rules of .dependency-cruiser.cjs hold for src/, and each rule
// really fails: the same config run on a small tree with one planted violation per rule.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

function cruise(cwd: string): { violations: Violation[]; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'src', '--config', CONFIG, '--output-type', 'json'], { cwd, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  let violations: Violation[] = [];
  try {
    violations = (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
  } catch {
    // reported below through `out`
  }
  return { violations, out: `${r.stderr}${r.stdout.slice(0, 2000)}` };
}

t.test('src/ keeps the layering rules', async (t) => {
  const r = cruise(ROOT);
  t.ok(r.out.includes('"modules"'), 'dependency-cruiser ran');
  t.same(r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`), [], 'no violations');
});

/** A tree with a clean core (paygate, store, a feature, its registry), then one violation added per case. */
const CLEAN: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  'src/paygate/decode.ts': "import { createHmac } from 'node:crypto';\nexport const mac = (k: string) => createHmac('sha256', k);\n",
  'src/store/types.ts': 'export const KIND = 1;\n',
  'src/collectmaxx/module.ts': "import { KIND } from '../store/types.js';\nexport const collectmaxx = { name: 'collectmaxx', KIND };\n",
  'src/features.ts': "import { collectmaxx } from './collectmaxx/module.js';\nexport const FEATURES = [collectmaxx];\n",
  'src/relay.ts': "import { FEATURES } from './features.js';\nexport const n = FEATURES.length;\n",
};

/** One planted violation per rule, each in files of its own, all in one tree (one run: the check takes a few seconds). */
const PLANTED: Record<string, Record<string, string>> = {
  'paygate-is-pure': { 'src/paygate/reads-files.ts': "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n" },
  'paygate-reaches-no-layer-above': { 'src/paygate/uses-store.ts': "import { KIND } from '../store/types.js';\nexport const k = KIND;\n" },
  'store-imports-no-feature': { 'src/store/knows-feature.ts': "import { collectmaxx } from '../collectmaxx/module.js';\nexport const c = collectmaxx;\n" },
  'features-only-through-the-registry': { 'src/delivery/knows-feature.ts': "import { collectmaxx } from '../collectmaxx/module.js';\nexport const c = collectmaxx;\n" },
  'no-circular': {
    'src/intake/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
    'src/intake/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
  },
};

function tree(t: { teardown(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgr-layers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

t.test('a small tree without violations passes; each rule fails on its planted violation', async (t) => {
  const clean = cruise(tree(t, CLEAN));
  t.ok(clean.out.includes('"modules"'), 'dependency-cruiser ran');
  t.same(clean.violations, [], 'clean tree');
  const r = cruise(tree(t, Object.assign({}, CLEAN, ...Object.values(PLANTED))));
  for (const [rule, files] of Object.entries(PLANTED)) {
    // The store file breaks the general rule too (the store is core).
    const planted = [...Object.keys(files), ...(rule === 'features-only-through-the-registry' ? ['src/store/knows-feature.ts'] : [])];
    const hits = r.violations.filter((v) => v.rule.name === rule).map((v) => v.from);
    t.ok(hits.length > 0 && hits.every((f) => planted.includes(f)), `${rule} fires on ${planted.join(', ')} only (got ${hits.join(', ') || 'nothing'})`);
  }
  const unexpected = r.violations.filter((v) => !Object.keys(PLANTED[v.rule.name] ?? {}).includes(v.from)
    && !(v.rule.name === 'features-only-through-the-registry' && v.from === 'src/store/knows-feature.ts'));
  t.same(unexpected, [], 'no rule fires on the clean files');
});
