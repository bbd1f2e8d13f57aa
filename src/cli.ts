#!/usr/bin/env node
import { createHmac, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import type { AnyFeatureModule, FeatureCliContext, FeatureInstance } from './feature.js';
import { StartupError } from './startup.js';

// The relay, the HTTP stack and the crypto are loaded by the commands that need them,
// so `--help`, `--version` and usage errors answer at once.
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const COMMAND_USAGE: Record<string, string> = {
  serve: `serve     --config PATH                    run the relay (or PAYGATE_RELAY_CONFIG)`,
  simulate: `simulate  --config PATH --merchant ID --kind KIND --code CODE
            [--status S] [--trans-id T] [--pay-id P] [--xid X] [--mandate-id M] [--user-data U]
            [--channel notify|success|failure] [--key-slot N] [--target URL] [--tamper | --forge-mac]
                                             build a callback exactly as Paygate would; print it or post it
                                             (exit 1 when the relay answers 4xx/5xx; --tamper flips a byte of Data,
                                             --forge-mac signs with a wrong key: both must be refused)`,
  export: `export    --config PATH [--since TIME]     raw callbacks as received, one JSON line each`,
  replay: `replay    FILE --target URL                post exported callbacks again, byte for byte`,
  url: `url       --config PATH --merchant ID --channel notify|success|failure --kind KIND [--trans-id T] [--base URL]
                                             print a signed callback URL for URLNotify/URLSuccess/URLFailure (paygate.urlSecret)`,
  erase: `erase     --config PATH (--trans-id T | --pay-id P | --mandate-id M) --reason TEXT
                                             erase a person's data (GDPR) from every table and record; ids, types,
                                             merchant, times and amounts stay; prints what changed, recorded as "cli"`,
  openapi: `openapi                                    print the OpenAPI document (openapi.yaml)`,
  archive: `archive   read FILE                        print a retention archive file (.jsonl.gz) as JSON Lines`,
};

/** The registered features, loaded only by the commands that need them (help, a feature's own command). */
async function features(): Promise<readonly AnyFeatureModule[]> {
  return (await import('./features.js')).FEATURES;
}

async function usage(): Promise<string> {
  const lines = [...Object.values(COMMAND_USAGE), ...(await features()).flatMap((f) => (f.cli ? [f.cli.usage] : []))];
  return `paygate-relay <command> [options]

${lines.map((u) => `  ${u.replace(/\n/g, '\n  ')}`).join('\n')}

  help, --help, -h                           this text; paygate-relay <command> --help for one command
  --version, -v                              the version
`;
}

/** A feature's command: a relay without delivery whose log goes to stderr at warn, the feature's instance, or a config error. */
function featureCli(module: AnyFeatureModule): FeatureCliContext<FeatureInstance> {
  return {
    usage: (message) => new ConfigError(message),
    open: async (path) => {
      const config = loadConfig(configPath(path));
      const [{ featureSection }, { Relay }, { createLogger }, { default: pino }] = await Promise.all([
        import('./feature.js'), import('./relay.js'), import('./logger.js'), import('pino'),
      ]);
      if (featureSection(config, module) === undefined) throw new ConfigError(`config ${module.name}: not configured`);
      const relay = await Relay.create({ config, delivery: false, logger: createLogger('warn', pino.destination(2)) });
      return { feature: relay.feature(module)!, now: () => relay.now(), close: () => relay.stop(0) };
    },
  };
}

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
      tamper: { type: 'boolean', default: false }, 'forge-mac': { type: 'boolean', default: false },
    },
  });
  const config = loadConfig(configPath(values.config));
  const [{ rawMerchantKeys, urlSecrets }, { buildCallback }, { signedCallbackUrl }, { parseKind }] = await Promise.all([
    import('./relay.js'), import('./paygate/simulator.js'), import('./paygate/url-token.js'), import('./paygate/operation.js'),
  ]);
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
    // A MAC made with a key the relay does not have: what a forger without the HMAC key can do.
    { keySlot: Number(values['key-slot']), macOverride: values['forge-mac'] ? createHmac('sha256', randomBytes(32)).update('forged').digest('hex').toUpperCase() : undefined },
  );
  let path = `/paygate/${values.channel}${values.kind ? `/${encodeURIComponent(values.kind)}` : ''}`;
  // A relay with signed URLs takes callbacks only on URLs it minted: mint one as a shop would.
  const secrets = urlSecrets(config);
  if (secrets && values.kind) {
    const url = signedCallbackUrl(secrets, [merchant.id], { merchantId: merchant.id, channel: values.channel!, kind: values.kind }, parseKind);
    if (!url.ok) throw new ConfigError(url.error);
    path = url.path;
  }
  const body = values.tamper ? tamperData(cb.body.toString('latin1')) : cb.body.toString('latin1');
  const out = { method: 'POST', path, contentType: cb.contentType, body };
  if (!values.target) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const res = await fetch(new URL(path, values.target), { method: 'POST', headers: { 'content-type': cb.contentType }, body: Buffer.from(body, 'latin1'), redirect: 'manual' });
  process.stdout.write(`${JSON.stringify({ ...out, status: res.status, location: res.headers.get('location'), answer: await res.text() }, null, 2)}\n`);
  // A refusal (or an outage) is not success: scripts and CI checks rely on the exit code.
  if (res.status >= 400) {
    process.stderr.write(`paygate-relay: the relay answered ${res.status}\n`);
    process.exitCode = 1;
  }
}

/** Flip one hex digit in the middle of Data: the ciphertext no longer decrypts to what was signed. */
function tamperData(body: string): string {
  return body.replace(/(^|&)(Data=)([0-9A-Fa-f]+)/, (_m, lead: string, key: string, hex: string) => {
    const i = Math.floor(hex.length / 2);
    const flipped = (parseInt(hex[i]!, 16) ^ 0x1).toString(16).toUpperCase();
    return `${lead}${key}${hex.slice(0, i)}${flipped}${hex.slice(i + 1)}`;
  });
}

/** A signed callback URL (no store, no network): what the shop puts into URLNotify, URLSuccess or URLFailure. */
async function callbackUrl(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' }, merchant: { type: 'string' }, channel: { type: 'string' }, kind: { type: 'string' },
      'trans-id': { type: 'string' }, base: { type: 'string' },
    },
  });
  const config = loadConfig(configPath(values.config));
  for (const k of ['merchant', 'channel', 'kind'] as const) if (!values[k]) throw new ConfigError(`--${k} is required`);
  const [{ urlSecrets }, { signedCallbackUrl }, { parseKind }] = await Promise.all([
    import('./relay.js'), import('./paygate/url-token.js'), import('./paygate/operation.js'),
  ]);
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
  const { Relay } = await import('./relay.js');
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

async function erase(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, 'trans-id': { type: 'string' }, 'pay-id': { type: 'string' }, 'mandate-id': { type: 'string' }, reason: { type: 'string' } },
  });
  const given = (['trans-id', 'pay-id', 'mandate-id'] as const).filter((k) => values[k] !== undefined);
  if (given.length !== 1) throw new ConfigError('give exactly one of --trans-id, --pay-id, --mandate-id');
  const value = values[given[0]!]!.trim();
  if (value === '') throw new ConfigError(`--${given[0]} must not be empty`);
  if (!values.reason?.trim()) throw new ConfigError('--reason TEXT is required (why: recorded with the erasure)');
  const config = loadConfig(configPath(values.config));
  const [{ Relay }, { createLogger }, { default: pino }] = await Promise.all([import('./relay.js'), import('./logger.js'), import('pino')]);
  const relay = await Relay.create({ config, delivery: false, logger: createLogger('warn', pino.destination(2)) });
  try {
    const selector = given[0] === 'trans-id' ? { transId: value } : given[0] === 'pay-id' ? { payId: value } : { mandateId: value };
    const r = await relay.erasure.erase({ selector, reason: values.reason, actor: 'cli' }).catch((err: unknown) => {
      // A value the erasure refuses (too long) is a usage error like the missing ones above.
      throw (err as { code?: string }).code === 'bad_request' ? new ConfigError((err as { detail?: string; message: string }).detail ?? (err as Error).message) : err;
    });
    process.stdout.write(`${JSON.stringify({ seq: r.seq, erasedAt: new Date(r.erasedAt).toISOString(), selector: r.selector, rows: r.rows, total: r.total, purged: r.purged })}\n`);
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

async function archive(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  const [verb, file, ...more] = positionals;
  if (verb !== 'read' || !file || more.length > 0) throw new ConfigError('usage: paygate-relay archive read FILE');
  const { readArchive } = await import('./lifecycle/archive.js');
  try {
    for await (const line of readArchive(file)) {
      if (!process.stdout.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
    }
  } catch (err) {
    // One line, no stack: a missing file or one that is not a gzipped archive is the operator's to see.
    process.stderr.write(`paygate-relay: archive read ${file}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  async serve(argv) {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } } });
    const config = loadConfig(configPath(values.config));
    const { serve } = await import('./server.js');
    await serve(config);
  },
  simulate,
  export: exportCallbacks,
  replay,
  erase,
  url: callbackUrl,
  archive,
  async openapi(argv) {
    parseArgs({ args: argv, options: {} });
    const [{ stringify }, { buildOpenApi }] = await Promise.all([import('yaml'), import('./openapi.js')]);
    process.stdout.write(stringify(await buildOpenApi(), { lineWidth: 0, aliasDuplicateObjects: false }));
  },
};

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === undefined) {
    process.stderr.write(await usage());
    process.exitCode = 2;
    return;
  }
  if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
    process.stdout.write(`paygate-relay ${VERSION}\n`);
    return;
  }
  const feature = Object.hasOwn(COMMANDS, cmd) ? undefined : (await features()).find((f) => f.name === (cmd === 'help' ? rest[0] : cmd) && f.cli);
  const oneUsage = (name: string | undefined) => (name === undefined ? undefined : Object.hasOwn(COMMAND_USAGE, name) ? COMMAND_USAGE[name] : feature?.cli?.usage);
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const one = oneUsage(rest[0]);
    process.stdout.write(one ? `paygate-relay ${one}\n` : await usage());
    return;
  }
  const run = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : feature ? (argv: string[]) => feature.cli!.run(argv, featureCli(feature)) : undefined;
  if (!run) {
    process.stderr.write(`paygate-relay: unknown command '${cmd}' (paygate-relay --help lists the commands)\n`);
    process.exitCode = 2;
    return;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`paygate-relay ${oneUsage(cmd)}\n`);
    return;
  }
  await run(rest);
}

main().catch((err: unknown) => {
  const code = (err as { code?: string }).code;
  if (err instanceof ConfigError || code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    process.stderr.write(`paygate-relay: ${(err as Error).message}\n`);
    process.exit(2);
  }
  // The environment refused the config (port taken, database unreachable ...): one line, the key and the cause.
  if (err instanceof StartupError) {
    process.stderr.write(`paygate-relay: config ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`paygate-relay: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
