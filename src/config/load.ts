import { readFileSync } from 'node:fs';
import { configSchema, type Config } from './schema.js';

/** A configuration problem: the message names the key, the process stops. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Replace `${NAME}` in every string with the environment variable NAME. */
export function interpolate(value: Json, env: NodeJS.ProcessEnv, path = ''): Json {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) throw new ConfigError(`config ${path || '(root)'}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    // `$comment` is documentation: it may mention ${NAME} without needing it.
    for (const [k, v] of Object.entries(value)) out[k] = k === '$comment' ? v : interpolate(v, env, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(root)';
}

/** Validate a parsed JSON config; environment overrides are applied here, once. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const interpolated = interpolate(raw as Json, env);
  if (env.PORT !== undefined && interpolated && typeof interpolated === 'object' && !Array.isArray(interpolated)) {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT: not a valid port number: ${env.PORT}`);
    const listen = (interpolated.listen ?? {}) as { [k: string]: Json };
    interpolated.listen = { ...listen, port };
  }
  const result = configSchema.safeParse(interpolated);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `config ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(lines.join('\n'));
  }
  return result.data;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw, env);
}
