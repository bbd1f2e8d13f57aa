// System tools some tests drive (nginx, promtool, systemd-analyze, sshd, Chromium ...).
// On a developer machine a missing tool skips its test with one line naming the
// tool and the Debian package; under CI=true (.ci/run installs them all) a
// missing tool is a failure, so CI can never go green by skipping.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';

interface ToolInfo {
  /** Debian package that provides it (what .ci/run installs). */
  apt: string;
  /** A fixed location instead of a PATH lookup. */
  path?: string;
  /** A file that must exist besides the executable (a library the test imports). */
  needs?: string;
}

export const TOOLS = {
  promtool: { apt: 'prometheus' },
  'systemd-analyze': { apt: 'systemd' },
  'systemd-sysusers': { apt: 'systemd' },
  nginx: { apt: 'nginx' },
  openssl: { apt: 'openssl' },
  sshd: { apt: 'openssh-server', path: '/usr/sbin/sshd' },
  chromium: { apt: 'chromium', path: '/usr/bin/chromium' },
  // The OpenMetrics reference parser (strict: it refuses clashing families, a missing # EOF ...).
  'python3-prometheus-client': { apt: 'python3-prometheus-client', path: '/usr/bin/python3', needs: '/usr/lib/python3/dist-packages/prometheus_client/openmetrics/parser.py' },
} satisfies Record<string, ToolInfo>;

export type ToolName = keyof typeof TOOLS;

/** Absolute path of a tool (PATH, then the sbin directories: nginx is /usr/sbin/nginx), or undefined. */
export function findTool(name: ToolName): string | undefined {
  const info: ToolInfo = TOOLS[name];
  if (info.needs && !existsSync(info.needs)) return undefined;
  if (info.path) return existsSync(info.path) ? info.path : undefined;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  return undefined;
}

export const inCi = (): boolean => process.env.CI === 'true';

export function missingReason(name: ToolName): string {
  return `${name} is not installed (apt-get install ${TOOLS[name].apt})`;
}

/**
 * The tool's path; when it is missing: a failure under CI=true, otherwise a skip
 * with one line naming the tool. The caller returns when it gets undefined.
 */
export function needTool(t: Test, name: ToolName): string | undefined {
  const p = findTool(name);
  if (p) return p;
  if (inCi()) t.fail(`${missingReason(name)}: CI=true requires it`);
  else void t.skip(missingReason(name), () => {});
  return undefined;
}

/**
 * For a file whose every test needs the tool: the path, or undefined after the
 * failure (CI=true) or the skip line, with every test defined later skipped.
 */
export function needToolForFile(t: Test, name: ToolName): string | undefined {
  const p = needTool(t, name);
  if (!p) t.runOnly = true;
  return p;
}
