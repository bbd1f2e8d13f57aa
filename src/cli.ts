#!/usr/bin/env node
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import pino from 'pino';
import { createLogger } from './logger.js';
import { parseKind } from './paygate/operation.js';
import { buildCallback } from './paygate/simulator.js';
import { signedCallbackUrl } from './paygate/url-token.js';
import { Relay, rawMerchantKeys, urlSecrets } from './relay.js';
import { serve } from './server.js';

const USAGE = `paygate-relay <command> [options]

  serve     --config PATH                    run the relay (or PAYGATE_RELAY_CONFIG)
  simulate  --config PATH --merchant ID --kind KIND --code CODE
            [--status S] [--trans-id T] [--pay-id P] [--xid X] [--mandate-id M] [--user-data U]
            [--channel notify|success|failure] [--key-slot N] [--target URL]
                                             build a callback exactly as Paygate would; print it or post it
  export    --config PATH [--since TIME]     raw callbacks as received, one JSON line each
  replay    FILE --target URL                post exported callbacks again, byte for byte
  url       --config PATH --merchant ID --channel notify|success|failure --kind KIND [--trans-id T] [--base URL]
                                             print a signed callback URL for URLNotify/URLSuccess/URLFailure (paygate.urlSecret)
  openapi                                    print the OpenAPI document (openapi.yaml)
  collectmaxx import --config PATH FILE...   import Collectmaxx result files (one line per file; exit 1 if any failed)
`;

function configPath(v: string | undefined): string {
  const p = v ?? process.env.PAYGATE_RELAY_CONFIG;
  if (!p) throw new ConfigError('--config PATH (or PAYGATE_RELAY_CONFIG) is required');
  return p;
}

async function simulate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' }, merchant: { type: 'string' }, kind: { type: 'string' }, code: { type: 'string', default: '00000000' },
      status: { type: 'string' }, 'trans-id': { type: 'string' }, 'pay-id': { type: 'string' }, xid: { type: 'string' },
      'mandate-id': { type: 'string' }, 'user-data': { type: 'string' }, channel: { type: 'string', default: 'notify' },
      'key-slot': { type: 'string', default: '0' }, target: { type: 'string' },
    },
  });
  const config = loadConfig(configPath(values.config));
  const merchants = rawMerchantKeys(config);
  const merchant = values.merchant ? merchants.find((m) => m.id === values.merchant) : merchants[0];
  if (!merchant) throw new ConfigError(`--merchant: no merchant ${values.merchant} in the configuration`);
  if (!['notify', 'success', 'failure'].includes(values.channel!)) throw new ConfigError('--channel must be notify, success or failure');
  const cb = buildCallback(
    {
      transId: values['trans-id'] ?? `T${Date.now()}`, code: values.code!, status: values.status, payId: values['pay-id'], xid: values.xid,
      mandateId: values['mandate-id'], userData: values['user-data'],
    },
    merchant,
    { keySlot: Number(values['key-slot']) },
  );
  let path = `/paygate/${values.channel}${values.kind ? `/${encodeURIComponent(values.kind)}` : ''}`;
  // A relay with signed URLs takes callbacks only on URLs it minted: mint one as a shop would.
  const secrets = urlSecrets(config);
  if (secrets && values.kind) {
    const url = signedCallbackUrl(secrets, [merchant.id], { merchantId: merchant.id, channel: values.channel!, kind: values.kind }, parseKind);
    if (!url.ok) throw new ConfigError(url.error);
    path = url.path;
  }
  const out = { method: 'POST', path, contentType: cb.contentType, body: cb.body.toString('latin1') };
  if (!values.target) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const res = await fetch(new URL(path, values.target), { method: 'POST', headers: { 'content-type': cb.contentType }, body: new Uint8Array(cb.body), redirect: 'manual' });
  process.stdout.write(`${JSON.stringify({ ...out, status: res.status, location: res.headers.get('location'), answer: await res.text() }, null, 2)}\n`);
}

/** A signed callback URL (no store, no network): what the shop puts into URLNotify, URLSuccess or URLFailure. */
function callbackUrl(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' }, merchant: { type: 'string' }, channel: { type: 'string' }, kind: { type: 'string' },
      'trans-id': { type: 'string' }, base: { type: 'string' },
    },
  });
  const config = loadConfig(configPath(values.config));
  for (const k of ['merchant', 'channel', 'kind'] as const) if (!values[k]) throw new ConfigError(`--${k} is required`);
  const r = signedCallbackUrl(urlSecrets(config), config.merchants.map((m) => m.id), {
    merchantId: values.merchant!, channel: values.channel!, kind: values.kind!, transId: values['trans-id'], base: values.base,
  }, parseKind);
  if (!r.ok) throw new ConfigError(r.error);
  process.stdout.write(`${r.url ?? r.path}\n`);
}

async function exportCallbacks(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, since: { type: 'string' } } });
  const config = loadConfig(configPath(values.config));
  const since = values.since ? Date.parse(values.since) : null;
  if (since !== null && Number.isNaN(since)) throw new ConfigError('--since must be an ISO 8601 time');
  const relay = await Relay.create({ config, delivery: false });
  try {
    for await (const c of relay.store.exportCallbacks(since)) {
      const line = {
        id: c.id, receivedAt: new Date(c.receivedAt).toISOString(), channel: c.channel, method: c.method, path: c.path,
        contentType: c.contentType, state: c.state, body: c.body.toString('base64'),
      };
      if (!process.stdout.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
    }
  } finally {
    await relay.stop(0);
  }
}

async function replay(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { target: { type: 'string' } } });
  const file = positionals[0];
  if (!file || !values.target) throw new ConfigError('usage: paygate-relay replay FILE --target URL');
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  let failed = 0;
  for await (const line of lines) {
    if (!line.trim()) continue;
    n++;
    const c = JSON.parse(line) as { id: string; method: string; path: string; contentType: string | null; body: string };
    const body = Buffer.from(c.body, 'base64');
    const url = new URL(c.path, values.target);
    // A GET callback's body is its query string: put it back byte for byte.
    const target = c.method === 'GET' ? `${url.toString()}${body.length ? `?${body.toString('latin1')}` : ''}` : url.toString();
    const headers: Record<string, string> = c.contentType ? { 'content-type': c.contentType } : {};
    const res = await fetch(target, { method: c.method, headers, body: c.method === 'GET' ? undefined : new Uint8Array(body), redirect: 'manual' });
    if (res.status >= 500) failed++;
    process.stdout.write(`${JSON.stringify({ line: n, id: c.id, method: c.method, path: c.path, status: res.status })}\n`);
    await res.arrayBuffer();
  }
  process.stderr.write(`replayed ${n} callbacks, ${failed} answered 5xx\n`);
  if (failed > 0) process.exitCode = 1;
}

/** Import result files into the configured store; a serving relay delivers the events (outbox poll / LISTEN). */
async function collectmaxx(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'import') throw new ConfigError('usage: paygate-relay collectmaxx import --config PATH FILE...');
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { config: { type: 'string' } } });
  if (positionals.length === 0) throw new ConfigError('usage: paygate-relay collectmaxx import --config PATH FILE...');
  const config = loadConfig(configPath(values.config));
  if (!config.collectmaxx) throw new ConfigError('config collectmaxx: not configured');
  const relay = await Relay.create({ config, delivery: false, logger: createLogger('warn', pino.destination(2)) });
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
      const r = await relay.collectmaxx!.importer.importFile(name, content, relay.now());
      if (r.status === 'failed') failed++;
      const what = r.status === 'imported' ? `imported: ${r.rows} rows, ${r.events} events, ${r.unchanged} unchanged`
        : r.status === 'skipped' ? `skipped: imported before at ${new Date(r.importedAt).toISOString()}`
          : `failed: ${r.message}`;
      process.stdout.write(`${name}: ${what}\n`);
    }
  } finally {
    await relay.stop(0);
  }
  if (failed > 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string' } } });
      await serve(loadConfig(configPath(values.config)));
      return;
    }
    case 'simulate':
      return simulate(rest);
    case 'url':
      return callbackUrl(rest);
    case 'export':
      return exportCallbacks(rest);
    case 'replay':
      return replay(rest);
    case 'collectmaxx':
      return collectmaxx(rest);
    case 'openapi': {
      const [{ stringify }, { buildOpenApi }] = await Promise.all([import('yaml'), import('./openapi.js')]);
      process.stdout.write(stringify(buildOpenApi(), { lineWidth: 0, aliasDuplicateObjects: false }));
      return;
    }
    default:
      process.stderr.write(USAGE);
      process.exitCode = cmd ? 2 : 0;
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`paygate-relay: ${(err as Error).message}\n`);
    process.exit(2);
  }
  process.stderr.write(`paygate-relay: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
