// Start-up failures an operator can fix (port taken, database unreachable, a file
// that is not what the config says) end the process with one line naming the
// config key and the cause, never a stack trace.
import { lookup } from 'node:dns/promises';
import { ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import { isLoopbackIp } from './net/cidr.js';

/** The environment refused what the config asks for: exit 1, `key: cause`. */
export class StartupError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${key}: ${reason}`);
    this.name = 'StartupError';
  }
}

/** The cause in words an operator can act on: the library's message and its code, no stack. */
export function causeOf(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: unknown[] };
  // pg and net report a refused dual-stack connect as an AggregateError with an empty message.
  const message = e.message || (Array.isArray(e.errors) ? e.errors.map((x) => (x as Error).message).join('; ') : '') || String(err);
  return e.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}

/** Run a start-up step; anything it throws (other than a config error) becomes a StartupError for `key`. */
export async function atKey<T>(key: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) throw err;
    throw new StartupError(key, causeOf(err));
  }
}

/**
 * Plain-http endpoints must reach loopback: an IP literal is decided as written;
 * a name by every address it resolves to now (`http://127.evil.example` resolves
 * elsewhere, or not at all, and is refused). allowInsecure lifts the rule.
 */
export async function checkPlainHttpEndpoints(
  config: Config,
  resolve: (host: string) => Promise<{ address: string }[]> = (host) => lookup(host, { all: true, verbatim: true }),
): Promise<void> {
  for (const [i, e] of config.endpoints.entries()) {
    const u = new URL(e.url);
    if (u.protocol !== 'http:' || e.allowInsecure || isLoopbackIp(u.hostname)) continue;
    let addresses: string[];
    try {
      addresses = (await resolve(u.hostname)).map((a) => a.address);
    } catch (err) {
      throw new ConfigError(`config endpoints[${i}].url: plain http needs a loopback host; ${u.hostname} does not resolve (${(err as { code?: string }).code ?? 'lookup failed'}); use https or set allowInsecure`);
    }
    const outside = addresses.filter((a) => !isLoopbackIp(a));
    if (addresses.length === 0 || outside.length > 0) {
      throw new ConfigError(`config endpoints[${i}].url: plain http is only allowed to loopback unless allowInsecure is true; ${u.hostname} resolves to ${outside.join(', ') || 'nothing'}`);
    }
  }
}
