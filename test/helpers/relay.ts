// Test harness: a real relay on a real SQLite file and a real listening socket on 127.0.0.1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { Relay } from '../../src/relay.js';

export const TEST_BF = 'TEST-ONLY-bf-key';
export const TEST_HMAC = 'TEST-ONLY-hmac-key-not-for-production';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const VIEWER_TOKEN = 'test-viewer-token-0123456789';

export function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A config object (before validation) with one Blowfish test merchant and admin tokens. */
export function baseConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    storage: `sqlite:${join(dir, 'relay.db')}`,
    merchants: [
      {
        id: 'ShopTest',
        keys: [{ blowfish: TEST_BF, hmac: TEST_HMAC }],
        returnUrls: { success: 'https://shop.example/ok', failure: 'https://shop.example/failed', pending: 'https://shop.example/pending' },
      },
    ],
    admin: { tokens: [ADMIN_TOKEN, { token: VIEWER_TOKEN, role: 'viewer' }] },
    delivery: { pollIntervalMs: 50, leaseMs: 5000 },
    log: { level: 'info' },
    ...extra,
  };
}

export interface Harness {
  relay: Relay;
  app: FastifyInstance;
  url: string;
  config: Config;
  logs: string[];
  close(): Promise<void>;
}

/** Start a relay in-process; `listen: false` keeps it to app.inject. */
export async function startRelay(
  t: { teardown(fn: () => Promise<void> | void): void },
  raw: Record<string, unknown>,
  opts: { listen?: boolean; delivery?: boolean; clock?: () => number; random?: () => number; archiveDir?: string } = {},
): Promise<Harness> {
  const config = parseConfig(raw, {});
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const relay = await Relay.create({ config, logger: createLogger(config.log.level, sink), delivery: opts.delivery, clock: opts.clock, random: opts.random, archiveDir: opts.archiveDir });
  const app = await buildApp(relay);
  await relay.start();
  let url = '';
  if (opts.listen !== false) url = await app.listen({ host: '127.0.0.1', port: 0 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await relay.stop(1000);
  };
  t.teardown(close);
  return { relay, app, url, config, logs, close };
}
