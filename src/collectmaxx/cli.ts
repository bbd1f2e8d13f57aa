// `paygate-relay collectmaxx import --config PATH FILE...`: import result files
// into the configured store; a serving relay delivers the events (outbox poll / LISTEN).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { FeatureCliContext } from '../feature.js';
import type { Collectmaxx } from './service.js';

export const COLLECTMAXX_USAGE = 'collectmaxx import --config PATH FILE...   import Collectmaxx result files (one line per file; exit 1 if any failed)';

export async function collectmaxxCommand(argv: string[], ctx: FeatureCliContext<Collectmaxx>): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'import') throw ctx.usage('usage: paygate-relay collectmaxx import --config PATH FILE...');
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { config: { type: 'string' } } });
  if (positionals.length === 0) throw ctx.usage('usage: paygate-relay collectmaxx import --config PATH FILE...');
  const relay = await ctx.open(values.config);
  let failed = 0;
  try {
    for (const file of positionals) {
      const name = basename(file);
      let content: Buffer;
      try {
        content = await readFile(file);
      } catch (err) {
        failed++;
        process.stdout.write(`${name}: failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
        continue;
      }
      // The operator's own channel: a file over the cap the other channels keep is imported, with a warning.
      if (content.length > relay.feature.maxResultFileBytes) {
        process.stderr.write(`${name}: warning: ${content.length} bytes, over collectmaxx.maxResultFileBytes (${relay.feature.maxResultFileBytes}); importing anyway\n`);
      }
      const r = await relay.feature.importer.importFile(name, content, relay.now());
      if (r.status === 'failed') failed++;
      const what = r.status === 'imported' ? `imported: ${r.rows} rows, ${r.events} events, ${r.unchanged} unchanged`
        : r.status === 'skipped' ? `skipped: imported before at ${new Date(r.importedAt).toISOString()}`
          : `failed: ${r.message}`;
      process.stdout.write(`${name}: ${what}\n`);
    }
  } finally {
    await relay.close();
  }
  if (failed > 0) process.exitCode = 1;
}
