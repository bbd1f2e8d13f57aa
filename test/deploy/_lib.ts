// Helpers for test/deploy/deploy.test.ts (not a test file itself).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = path.join(ROOT, 'deploy');
export const read = (rel: string): string => readFileSync(path.join(DEPLOY, rel), 'utf8');
export const yamlDocs = (rel: string): any[] =>
  YAML.parseAllDocuments(read(rel)).map((d) => {
    if (d.errors.length) throw new Error(`${rel}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS();
  }).filter((d) => d !== null);

export interface RunResult { status: number | null; stdout: string; stderr: string; output: string }
export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000, ...opts });
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '');
  return { status: r.status, stdout, stderr, output: `${stdout}${stderr}`.trim() };
}

// ---------------------------------------------------------------------------
// Metric names: the relay's contract (deploy/ builds against exactly these).
// ---------------------------------------------------------------------------
export const RELAY_METRICS: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  paygate_relay_callbacks_total: 'counter',
  paygate_relay_events_total: 'counter',
  paygate_relay_decrypt_failures_total: 'counter',
  paygate_relay_mac_failures_total: 'counter',
  paygate_relay_key_slot_matches_total: 'counter',
  paygate_relay_quarantine_size: 'gauge',
  paygate_relay_http_request_duration_seconds: 'histogram',
  paygate_relay_deliveries_total: 'counter',
  paygate_relay_delivery_attempt_duration_seconds: 'histogram',
  paygate_relay_delivery_latency_seconds: 'histogram',
  paygate_relay_storage_commit_duration_seconds: 'histogram',
  paygate_relay_delivery_queue_deliveries: 'gauge',
  paygate_relay_quarantine_oldest_age_seconds: 'gauge',
  paygate_relay_delivery_queue_depth: 'gauge',
  paygate_relay_delivery_oldest_pending_age_seconds: 'gauge',
  paygate_relay_dead_letter_deliveries: 'gauge',
  paygate_relay_dead_letters_total: 'counter',
  paygate_relay_endpoint_enabled: 'gauge',
  paygate_relay_endpoint_disabled_total: 'counter',
  paygate_relay_tls_certificate_expiry_timestamp_seconds: 'gauge',
  paygate_relay_build_info: 'gauge',
  paygate_relay_ready: 'gauge',
  paygate_relay_collectmaxx_sftp_cycles_total: 'counter',
  paygate_relay_collectmaxx_rejects_total: 'counter',
  paygate_relay_callback_conflicts_total: 'counter',
  paygate_relay_url_token_rejections_total: 'counter',
  paygate_relay_retention_rows: 'gauge',
  paygate_relay_retention_oldest_age_seconds: 'gauge',
  paygate_relay_retention_seconds: 'gauge',
  paygate_relay_retention_last_sweep_timestamp_seconds: 'gauge',
  paygate_relay_retention_purged_total: 'counter',
  paygate_relay_retention_archived_total: 'counter',
  paygate_relay_database_size_bytes: 'gauge',
};

/** Series names the relay exposes: its own metrics plus prom-client's default ones, histograms expanded. */
export async function exposedSeriesNames(): Promise<Set<string>> {
  const prom = await import('prom-client');
  const reg = new prom.Registry();
  prom.collectDefaultMetrics({ register: reg });
  const types: Record<string, string> = { ...RELAY_METRICS };
  for (const m of await reg.getMetricsAsJSON()) types[m.name] = String(m.type);
  reg.clear();
  const names = new Set<string>();
  for (const [name, type] of Object.entries(types)) {
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  }
  return names;
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

/** Metric names a PromQL expression selects (strings, matchers, ranges and grouping clauses removed). */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of s.matchAll(/(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = s.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(') || PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

// ---------------------------------------------------------------------------
// Kubernetes schema validation, offline: the OpenAPI-derived validators shipped in
// kubernetes-models (core/apps/policy/networking) and @kubernetes-models/prometheus-operator
// (ServiceMonitor), plus an unknown-field check (the API server's strict field validation).
// ---------------------------------------------------------------------------
const K8S_SCHEMAS: Record<string, [pkg: string, schema: string]> = {
  'v1/ConfigMap': ['kubernetes-models', 'IoK8sApiCoreV1ConfigMap'],
  'v1/Secret': ['kubernetes-models', 'IoK8sApiCoreV1Secret'],
  'v1/Service': ['kubernetes-models', 'IoK8sApiCoreV1Service'],
  'v1/PersistentVolumeClaim': ['kubernetes-models', 'IoK8sApiCoreV1PersistentVolumeClaim'],
  'apps/v1/Deployment': ['kubernetes-models', 'IoK8sApiAppsV1Deployment'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models', 'IoK8sApiPolicyV1PodDisruptionBudget'],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-models', 'IoK8sApiNetworkingV1NetworkPolicy'],
  'monitoring.coreos.com/v1/ServiceMonitor': ['@kubernetes-models/prometheus-operator', 'MonitoringCoreosComV1ServiceMonitor'],
};

type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string; params: unknown }[] | null };

export async function k8sValidator(apiVersion: string, kind: string): Promise<Validator | undefined> {
  const entry = K8S_SCHEMAS[`${apiVersion}/${kind}`];
  if (!entry) return undefined;
  const file = path.join(ROOT, 'node_modules', entry[0], '_schemas', `${entry[1]}.mjs`);
  return (await import(pathToFileURL(file).href)).validate as Validator;
}

/**
 * Validate `doc` and report unknown fields. The compiled validators read every
 * property their schema declares; a property of a (non-map) object that is never
 * read is not in the schema. Maps (labels, data, resources …) are enumerated by
 * the validator, and enumerated objects are taken as open.
 */
export function validateStrict(validate: Validator, doc: unknown): { errors: string[]; unknown: string[] } {
  const seen: { target: object; path: string; read: Set<string>; enumerated: boolean }[] = [];
  const wrap = (v: unknown, p: string): unknown => {
    if (!v || typeof v !== 'object') return v;
    const info = { target: v as object, path: p, read: new Set<string>(), enumerated: false };
    seen.push(info);
    const copy = Array.isArray(v) ? v.map((x, i) => wrap(x, `${p}/${i}`)) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wrap(x, `${p}/${k}`)]));
    return new Proxy(copy, {
      get(t, k, r) { if (typeof k === 'string') info.read.add(k); return Reflect.get(t, k, r); },
      has(t, k) { if (typeof k === 'string') info.read.add(k); return Reflect.has(t, k); },
      ownKeys(t) { info.enumerated = true; return Reflect.ownKeys(t); },
    });
  };
  const ok = validate(wrap(doc, ''));
  const errors = ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
  const unknown: string[] = [];
  for (const i of seen) {
    if (Array.isArray(i.target) || i.enumerated) continue;
    for (const k of Object.keys(i.target)) if (!i.read.has(k)) unknown.push(`${i.path}/${k}`);
  }
  // report an unknown field once, not every property beneath it
  return { errors, unknown: unknown.filter((u) => !unknown.some((p) => u.startsWith(`${p}/`))) };
}

// ---------------------------------------------------------------------------
// Relay config examples and their ${ENV} placeholders.
// ---------------------------------------------------------------------------
export function placeholders(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') for (const m of value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) out.add(m[1]!);
  else if (Array.isArray(value)) value.forEach((v) => placeholders(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => placeholders(v, out));
  return out;
}

export function envFileKeys(text: string): Set<string> {
  const keys = new Set<string>();
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Za-z_][A-Za-z0-9_]*)=/);
    if (m) keys.add(m[1]!);
  }
  return keys;
}

/** systemd unit → section → key → values (a key may repeat). */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = line.match(/^\[(.+)\]$/);
    if (s) { section = s[1]!; out[section] ??= {}; continue; }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const k = line.slice(0, eq).trim();
    ((out[section] ??= {})[k] ??= []).push(line.slice(eq + 1).trim());
  }
  return out;
}
