// README.md is the operator's reference for config keys and metrics: a key or
// metric added in code without its README row fails here (openapi.test.ts does
// the same for routes and event types against openapi.yaml). Links in README
// and docs/ must lead somewhere: a moved section leaves no dead link behind.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { exportConfigSchema, importConfigSchema } from '../src/collectmaxx/core/config.js';
import { configSchema } from '../src/config/schema.js';
import { baseConfig, startRelay, tmpDir } from './helpers/relay.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** A table row of the README that starts with this key (`key`, `key.sub`, `key[]`). */
const hasRow = (key: string) => new RegExp(`^\\| \`${key.replace(/[.[\]$]/g, '\\$&')}[\`.\\[]`, 'm').test(readme);

t.test('every top-level config key has a README row', async (t) => {
  for (const key of Object.keys(configSchema.shape).filter((k) => k !== '$comment')) t.ok(hasRow(key), key);
});

t.test('every collectmaxx export/import key has a README row', async (t) => {
  for (const key of Object.keys(exportConfigSchema.shape)) t.ok(hasRow(`collectmaxx.export.${key}`), `collectmaxx.export.${key}`);
  for (const key of Object.keys(importConfigSchema.shape)) t.ok(hasRow(`collectmaxx.import.${key}`), `collectmaxx.import.${key}`);
});

t.test('every paygate_relay_* metric the relay registers is in the README metrics table', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false });
  const names = (await h.relay.metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('paygate_relay_'));
  t.ok(names.length > 20, `${names.length} metrics`);
  for (const name of names) t.ok(hasRow(name), name);
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, text] of stripFences(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = text!.replace(/`/g, '').toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The text outside fenced code blocks (where `# …` is no heading). */
function stripFences(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** The text outside code (where `[x](y)` is no link). */
function stripCode(markdown: string): string {
  return stripFences(markdown).replace(/`[^`\n]*`/g, '``');
}

t.test('every relative link in README.md and docs/*.md resolves to a file, and every #anchor to a heading', async (t) => {
  const root = new URL('../', import.meta.url);
  const files = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  let links = 0;
  for (const file of files) {
    const text = readFileSync(new URL(file, root), 'utf8');
    for (const [, target] of stripCode(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?: "[^"]*")?\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // https:, mailto:
      links++;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = path === '' ? new URL(file, root) : new URL(path, new URL(file, root));
      t.ok(existsSync(resolved), `${file}: ${target} exists`);
      if (anchor && existsSync(resolved) && resolved.pathname.endsWith('.md')) {
        t.ok(anchors(readFileSync(resolved, 'utf8')).has(anchor), `${file}: ${target} names a heading`);
      }
    }
  }
  t.ok(links > 20, `${links} relative links checked`);
});

t.test("the README's test command is the one CI runs", async (t) => {
  const section = /^## Tests\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1] ?? '';
  const command = /```sh\n([^\n]+)\n```/.exec(section)?.[1];
  t.ok(command, 'README "## Tests" opens with a command');
  const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
  const lastLine = ci.trim().split('\n').at(-1);
  t.equal(lastLine, command, '.ci/run ends with it');
});
