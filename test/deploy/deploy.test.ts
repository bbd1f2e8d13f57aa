// Checks the deployment artefacts under deploy/ with the real tools:
// promtool (apt prometheus), systemd-analyze/systemd-sysusers (apt systemd), nginx (apt nginx),
// openssl (apt openssl), offline Kubernetes schemas (kubernetes-models), a Dockerfile linter
// (dockerfile-utils), the relay's own config loader, and the relay itself (src/ via tsx)
// started with the shipped configs, alone and behind the shipped nginx site.
// A missing tool skips its check with a one-line reason, or fails it under CI=true (test/helpers/tools.ts).
// `docker build` cannot run here (no engine); the Dockerfile is linted and cross-checked.
// All traffic stays on loopback; webhook endpoints are pointed at a local sink.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { DockerfileParser, type Copy } from 'dockerfile-ast';
import { validate as lintDockerfile } from 'dockerfile-utils';
import {
  DEPLOY, RELAY_METRICS, ROOT, envFileKeys, exposedSeriesNames, k8sValidator, metricNames, parseUnit, placeholders, read, run,
  validateStrict, yamlDocs,
} from './_lib.js';
import { needTool, type ToolName } from '../helpers/tools.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'paygate-relay-deploy-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** The tool's path; missing: a skip naming it, or a failure under CI=true. */
const tool = (tt: Test, name: ToolName): string | undefined => needTool(tt, name);

const DRAIN_MS_DEFAULT = 25_000;
const drainSeconds = (config: any) => (config?.shutdown?.drainMs ?? DRAIN_MS_DEFAULT) / 1000;

const configs = {
  systemd: JSON.parse(read('systemd/config.example.json')),
  nginx: JSON.parse(read('nginx/config.example.json')),
  kubernetes: JSON.parse(yamlDocs('kubernetes/configmap.yaml')[0].data['config.json']),
};

// ---------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------
t.test('prometheus: promtool check rules (with lint)', async (t) => {
  const promtool = tool(t, 'promtool');
  if (!promtool) return;
  const r = run(promtool, ['check', 'rules', '--lint=all', '--lint-fatal', 'alerts.yml'], { cwd: path.join(DEPLOY, 'prometheus') });
  t.equal(r.status, 0, r.output);
  t.match(r.output, /SUCCESS: \d+ rules found/);
});

t.test('prometheus: promtool test rules', async (t) => {
  const promtool = tool(t, 'promtool');
  if (!promtool) return;
  const r = run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: path.join(DEPLOY, 'prometheus') });
  t.equal(r.status, 0, r.output);
  t.match(r.output, /SUCCESS/);
});

t.test('prometheus: promtool check config prometheus.yml', async (t) => {
  const promtool = tool(t, 'promtool');
  if (!promtool) return;
  const r = run(promtool, ['check', 'config', '--lint=all', '--lint-fatal', 'prometheus.yml'], { cwd: path.join(DEPLOY, 'prometheus') });
  t.equal(r.status, 0, r.output);
  const cfg = YAML.parse(read('prometheus/prometheus.yml'));
  t.ok(cfg.scrape_configs.some((s: any) => s.job_name === 'paygate-relay'), 'scrape job is named paygate-relay');
  t.same(cfg.rule_files, ['alerts.yml']);
});

t.test('prometheus: every alert is tested firing and silent, annotated, with a runbook', async (t) => {
  const rules = YAML.parse(read('prometheus/alerts.yml')).groups.flatMap((g: any) => g.rules);
  const tests = YAML.parse(read('prometheus/alerts.test.yml')).tests.flatMap((x: any) => x.alert_rule_test ?? []);
  const readme = read('README.md');
  const allowed = await exposedSeriesNames();
  allowed.add('up');
  t.ok(rules.length >= 10, `${rules.length} alert rules`);
  for (const r of rules) {
    t.ok(r.alert, 'alerting rules only');
    t.match(r.labels?.severity, /^(critical|warning|info)$/, `${r.alert}: severity`);
    for (const a of ['summary', 'description', 'runbook']) t.ok(r.annotations?.[a], `${r.alert}: ${a} annotation`);
    t.equal(r.annotations.runbook, `deploy/README.md#${r.alert.toLowerCase()}`, `${r.alert}: runbook anchor`);
    t.match(readme, new RegExp(`^#+ ${r.alert}$`, 'm'), `${r.alert}: README has a runbook section`);
    const cases = tests.filter((c: any) => c.alertname === r.alert);
    t.ok(cases.some((c: any) => (c.exp_alerts ?? []).length > 0), `${r.alert}: tested firing`);
    t.ok(cases.some((c: any) => (c.exp_alerts ?? []).length === 0), `${r.alert}: tested not firing`);
    for (const c of cases) for (const e of c.exp_alerts ?? []) t.ok(e.exp_annotations, `${r.alert}@${c.eval_time}: annotations asserted`);
    const unknown = metricNames(r.expr).filter((m) => !allowed.has(m));
    t.same(unknown, [], `${r.alert}: only known metrics in ${r.expr}`);
  }
  t.ok(rules.some((r: any) => /up\{job="paygate-relay"\} == 0/.test(r.expr)), 'relay down uses up{job="paygate-relay"} == 0');
});

// ---------------------------------------------------------------------------
// Grafana
// ---------------------------------------------------------------------------
t.test('grafana: dashboard.json is a sane dashboard using only relay metrics', async (t) => {
  const d = JSON.parse(read('grafana/dashboard.json'));
  t.ok(d.uid && d.title && Number.isInteger(d.schemaVersion), 'uid, title, schemaVersion');
  const vars = d.templating.list;
  t.ok(vars.some((v: any) => v.type === 'datasource' && v.name === 'datasource' && v.query === 'prometheus'), 'datasource template variable');
  const allowed = await exposedSeriesNames();
  const panels = d.panels.filter((p: any) => p.type !== 'row');
  t.ok(panels.length >= 8, `${panels.length} panels`);
  t.equal(new Set(d.panels.map((p: any) => p.id)).size, d.panels.length, 'panel ids are unique');
  const exprs: string[] = [];
  const used = new Set<string>();
  for (const p of panels) {
    t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: datasource is the template variable`);
    t.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.h > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: gridPos`);
    t.ok(Array.isArray(p.targets) && p.targets.length > 0, `${p.title}: has queries`);
    t.equal(new Set(p.targets.map((x: any) => x.refId)).size, p.targets.length, `${p.title}: refIds unique`);
    for (const q of p.targets) {
      t.ok(q.expr, `${p.title}/${q.refId}: expr`);
      const names = metricNames(q.expr);
      t.ok(names.length > 0, `${p.title}/${q.refId}: names a metric`);
      t.same(names.filter((n) => !allowed.has(n)), [], `${p.title}/${q.refId}: only known metrics`);
      names.forEach((n) => used.add(n.replace(/_(bucket|sum|count)$/, '')));
      exprs.push(q.expr);
    }
  }
  // overlapping panels render on top of each other
  const cells = new Set<string>();
  for (const p of d.panels) {
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        if (cells.has(`${x},${y}`)) t.fail(`${p.title}: overlaps another panel at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
  for (const m of ['paygate_relay_callbacks_total', 'paygate_relay_quarantine_size', 'paygate_relay_deliveries_total', 'paygate_relay_delivery_queue_depth',
    'paygate_relay_delivery_oldest_pending_age_seconds', 'paygate_relay_dead_letter_deliveries', 'paygate_relay_delivery_attempt_duration_seconds',
    'paygate_relay_tls_certificate_expiry_timestamp_seconds']) t.ok(used.has(m), `a panel shows ${m}`);

  // PromQL syntax: promtool parses every query as a recording rule.
  const promtool = tool(t, 'promtool');
  if (!promtool) return;
  const file = path.join(tmp, 'dashboard-queries.yml');
  const subst = (e: string) => e.replaceAll('$__rate_interval', '5m').replaceAll('$job', 'paygate-relay').replaceAll('$instance', '.*');
  writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: subst(e) })) }] }));
  const r = run(promtool, ['check', 'rules', file]);
  t.equal(r.status, 0, `all ${exprs.length} dashboard queries parse: ${r.output}`);
});

// ---------------------------------------------------------------------------
// systemd
// ---------------------------------------------------------------------------
t.test('systemd: unit passes systemd-analyze verify and the hardening checks', async (t) => {
  const unitText = read('systemd/paygate-relay.service');
  const unit = parseUnit(unitText);
  const svc = unit.Service!;
  const one = (k: string) => { t.equal(svc[k]?.length, 1, `${k}= set once`); return svc[k]?.[0]; };

  const execStart = one('ExecStart')!;
  t.match(execStart, /^\/usr\/bin\/node \/opt\/paygate-relay\/dist\/cli\.js serve --config \/etc\/paygate-relay\/config\.json$/, 'ExecStart');
  t.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID', 'ExecReload sends SIGHUP (certificate reload)');
  t.equal(one('Restart'), 'on-failure');
  t.match(one('EnvironmentFile'), /^\/etc\/paygate-relay\//, 'secrets from an EnvironmentFile');
  t.equal(one('StateDirectory'), 'paygate-relay');
  t.equal(one('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
  t.equal(one('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  for (const k of ['NoNewPrivileges', 'PrivateTmp', 'PrivateDevices', 'ProtectHome']) t.equal(one(k), 'yes', `${k}=yes`);
  t.equal(one('ProtectSystem'), 'strict');
  t.match(one('RestrictAddressFamilies'), /AF_INET AF_INET6/);
  t.ok(svc.SystemCallFilter?.includes('@system-service'), 'SystemCallFilter=@system-service');
  t.notOk('MemoryDenyWriteExecute' in svc, 'MemoryDenyWriteExecute is not set (V8 JIT)');
  t.ok(svc.User?.[0] || svc.DynamicUser?.[0] === 'yes', 'runs as a non-root user');
  const stopSec = Number(one('TimeoutStopSec'));
  const drain = drainSeconds(configs.systemd);
  t.ok(stopSec >= drain + 5, `TimeoutStopSec (${stopSec}) covers drainMs (${drain} s) + margin`);
  t.match(configs.systemd.storage, new RegExp(`^sqlite:/var/lib/${svc.StateDirectory![0]}/`), 'SQLite file inside StateDirectory (the only writable path)');
  t.equal(configs.systemd.listen.port, 443, 'systemd example terminates TLS on 443 itself (CAP_NET_BIND_SERVICE)');
  t.ok(configs.systemd.listen.tls?.cert && configs.systemd.listen.tls?.key, 'with listen.tls');
  t.equal(configs.systemd.admin.listen.host, '127.0.0.1', 'admin port on loopback');

  // sysusers creates the user the unit runs as
  const sysusers = read('systemd/paygate-relay.sysusers.conf');
  t.match(sysusers, new RegExp(`^u\\s+${svc.User![0]}\\s`, 'm'), 'sysusers.d creates User=');

  const analyze = tool(t, 'systemd-analyze');
  if (!analyze) return;
  // verify checks that ExecStart's binary exists and is executable; point it at this
  // machine's node (the unit's /usr/bin/node is the NodeSource location on the target).
  const dir = path.join(tmp, 'systemd');
  mkdirSync(dir, { recursive: true });
  const unitCopy = path.join(dir, 'paygate-relay.service');
  t.ok(unitText.includes('ExecStart=/usr/bin/node '), 'ExecStart starts with /usr/bin/node');
  writeFileSync(unitCopy, unitText.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
  const v = run(analyze, ['verify', '--man=no', unitCopy], { cwd: dir });
  t.equal(v.status, 0, `systemd-analyze verify exit status: ${v.output}`);
  t.equal(v.output, '', 'systemd-analyze verify prints no warnings (unknown keys, bad values)');

  // control: the same call does report problems in this environment
  const bad = path.join(dir, 'bad-example.service');
  writeFileSync(bad, `[Service]\nExecStart=${process.execPath} x\nNoSuchDirective=1\n`);
  t.match(run(analyze, ['verify', '--man=no', bad], { cwd: dir }).output, /Unknown key/, 'control: verify reports an unknown key');

  // overall exposure (0 = locked down … 10 = unprotected) must stay "OK" (<= 2.0)
  const s = run(analyze, ['security', '--offline=true', '--threshold=20', '--no-pager', unitCopy], { cwd: dir });
  t.equal(s.status, 0, `systemd-analyze security exposure <= 2.0: ${s.output.split('\n').filter((l) => /Overall/.test(l)).join('')}`);

  const hook = run('sh', ['-n', path.join(DEPLOY, 'systemd/certbot-deploy-hook.sh')]);
  t.equal(hook.status, 0, `certbot-deploy-hook.sh parses (sh -n): ${hook.output}`);
  t.match(read('systemd/certbot-deploy-hook.sh'), new RegExp(`${configs.systemd.listen.tls.cert.replace(/\/[^/]+$/, '')}`), 'hook writes where listen.tls reads');

  const sysusersBin = tool(t, 'systemd-sysusers');
  if (!sysusersBin) return;
  const sroot = path.join(tmp, 'sysroot');
  mkdirSync(path.join(sroot, 'etc'), { recursive: true });
  mkdirSync(path.join(sroot, 'usr/lib/sysusers.d'), { recursive: true });
  writeFileSync(path.join(sroot, 'usr/lib/sysusers.d/paygate-relay.conf'), sysusers);
  const u = run(sysusersBin, ['--dry-run', `--root=${sroot}`]);
  t.equal(u.status, 0, u.output);
  t.match(u.output, /Creating user '?paygate-relay'?/, 'systemd-sysusers would create paygate-relay');
});

// ---------------------------------------------------------------------------
// Relay config examples vs. secrets
// ---------------------------------------------------------------------------
/** Valid values for every placeholder (the examples' CHANGE-ME values are invalid on purpose). */
const DUMMY_ENV: Record<string, string> = {
  PAYGATE_RELAY_ADMIN_TOKEN: 'operator-token-for-the-deploy-test',
  PAYGATE_RELAY_VIEWER_TOKEN: 'viewer-token-for-the-deploy-test',
  PAYGATE_EXAMPLE_SHOP_BLOWFISH_KEY: 'blowfish-pass-16',
  PAYGATE_EXAMPLE_SHOP_HMAC_KEY: 'hmac-key-for-the-deploy-test',
  ENDPOINT_ORDERS_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
};

t.test('config examples: valid for the relay, every ${ENV} placeholder provided by the env file and the Secret', async (t) => {
  const { parseConfig } = await import('../../src/config/load.js');
  const envExample = read('systemd/paygate-relay.env.example');
  const envKeys = envFileKeys(envExample);
  const secret = yamlDocs('kubernetes/secret.example.yaml').find((d) => d.metadata.name === 'paygate-relay-secrets');
  const secretKeys = new Set(Object.keys(secret.stringData));
  t.same([...secretKeys].sort(), [...envKeys].sort(), 'Secret example and env example list the same variables');
  t.same(Object.keys(DUMMY_ENV).sort(), [...envKeys].sort(), 'the test knows every variable');
  const exampleValues = Object.fromEntries(envExample.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

  for (const [name, cfg] of Object.entries(configs)) {
    const used = placeholders(cfg);
    t.ok(used.size > 0, `${name}: secrets are \${ENV} placeholders`);
    for (const v of used) {
      t.ok(envKeys.has(v), `${name}: ${v} in paygate-relay.env.example`);
      t.ok(secretKeys.has(v), `${name}: ${v} in secret.example.yaml`);
    }
    // the relay's own loader: interpolation + schema (what `serve` does at startup)
    let parsed: any;
    t.doesNotThrow(() => (parsed = parseConfig(structuredClone(cfg), { ...DUMMY_ENV })), `${name}: accepted by the relay's config schema`);
    t.throws(() => parseConfig(structuredClone(cfg), { ...exampleValues }), `${name}: the unedited CHANGE-ME example values are refused`);
    t.throws(() => parseConfig(structuredClone(cfg), {}), `${name}: a missing variable is refused`);
    t.match(cfg.storage, /^sqlite:\/var\/lib\/paygate-relay\/relay\.db$/, `${name}: storage`);
    t.equal(parsed?.shutdown.drainMs, 25_000, `${name}: drainMs 25000`);
    t.ok(cfg.paygate?.allowFrom?.length > 0, `${name}: paygate.allowFrom`);
    t.equal(cfg.admin?.listen?.port, 9090, `${name}: admin on its own port 9090`);
    // no literal secrets: every key/token/secret field is a placeholder
    for (const m of cfg.merchants) for (const slot of m.keys) for (const [k, v] of Object.entries(slot)) t.match(v, /^\$\{\w+\}$/, `${name}: ${m.id}.${k} is a placeholder`);
    for (const e of cfg.endpoints) t.match(e.secret, /^\$\{\w+\}$/, `${name}: endpoint ${e.id} secret is a placeholder`);
    for (const tk of cfg.admin.tokens) t.match(typeof tk === 'string' ? tk : tk.token, /^\$\{\w+\}$/, `${name}: admin token is a placeholder`);
  }
  t.same(configs.nginx.trustProxy, ['127.0.0.1/32', '::1/128'], 'behind nginx: trust the loopback proxy');
  t.same(configs.nginx.listen, { host: '127.0.0.1', port: 8080 }, 'behind nginx: plain HTTP on loopback:8080');
  t.notOk(configs.systemd.trustProxy || configs.kubernetes.trustProxy, 'direct TLS: no proxy trusted');
});

// ---------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------
t.test('kubernetes: manifests validate against the Kubernetes/prometheus-operator schemas', async (t) => {
  const kustomization = YAML.parse(read('kubernetes/kustomization.yaml'));
  const files = ['kustomization.yaml', 'secret.example.yaml', ...kustomization.resources];
  for (const f of files) t.ok(existsSync(path.join(DEPLOY, 'kubernetes', f)), `${f} exists`);
  const all: any[] = [];
  for (const f of files.filter((f) => f !== 'kustomization.yaml')) {
    for (const doc of yamlDocs(`kubernetes/${f}`)) {
      all.push(doc);
      const validate = await k8sValidator(doc.apiVersion, doc.kind);
      if (!validate) { t.fail(`${f}: no schema for ${doc.apiVersion} ${doc.kind}`); continue; }
      const { errors, unknown } = validateStrict(validate, doc);
      t.same(errors, [], `${f}: ${doc.kind}/${doc.metadata?.name} matches the schema`);
      t.same(unknown, [], `${f}: ${doc.kind}/${doc.metadata?.name} has no unknown fields`);
    }
  }

  // controls: the validator does catch a wrong type and a misspelt field
  const ctl = await k8sValidator('apps/v1', 'Deployment');
  const dep0 = all.find((d) => d.kind === 'Deployment');
  const broken = structuredClone(dep0);
  broken.spec.replicas = 'one';
  broken.spec.template.spec.containers[0].readinessProbes = broken.spec.template.spec.containers[0].readinessProbe;
  const r = validateStrict(ctl!, broken);
  t.match(r.errors.join('\n'), /^\/spec\/replicas type/m, 'control: wrong type is reported');
  t.same(r.unknown, ['/spec/template/spec/containers/0/readinessProbes'], 'control: unknown field is reported');

  // how the pieces fit together
  const byKind = (k: string) => all.filter((d) => d.kind === k);
  const dep = byKind('Deployment')[0];
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  const podLabels = dep.spec.template.metadata.labels;
  const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  t.ok(matches(dep.spec.selector.matchLabels), 'Deployment selector matches its pod labels');
  t.equal(dep.spec.replicas, 1, 'one replica (SQLite)');
  t.equal(dep.spec.strategy.type, 'Recreate', 'Recreate: never two pods on the SQLite volume');
  t.match(read('kubernetes/deployment.yaml'), /replicas > 1[\s\S]*postgres/, 'comment: replicas > 1 needs postgres storage');

  const ports = new Map(c.ports.map((p: any) => [p.name, p.containerPort]));
  t.same(Object.fromEntries(ports), { https: 8443, admin: 9090 }, 'container ports');
  t.equal(c.readinessProbe.httpGet.path, '/readyz');
  t.equal(c.livenessProbe.httpGet.path, '/healthz');
  for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
    t.ok(ports.has(probe.httpGet.port), `probe port ${probe.httpGet.port} is a container port`);
    t.equal(probe.httpGet.scheme, 'HTTPS', 'probes speak TLS (listen.tls is set)');
  }
  const preStop = Number(c.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0);
  const drain = drainSeconds(configs.kubernetes);
  t.ok(pod.terminationGracePeriodSeconds >= preStop + drain + 5,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} >= preStop ${preStop} + drain ${drain} + 5`);

  t.equal(pod.securityContext.runAsNonRoot, true);
  t.ok(pod.securityContext.runAsUser > 0, 'numeric non-root UID');
  t.equal(c.securityContext.readOnlyRootFilesystem, true);
  t.equal(c.securityContext.allowPrivilegeEscalation, false);
  t.same(c.securityContext.capabilities.drop, ['ALL']);
  t.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, 'resources');

  const volumes = new Map(pod.volumes.map((v: any) => [v.name, v]));
  for (const m of c.volumeMounts) t.ok(volumes.has(m.name), `mount ${m.mountPath} has volume ${m.name}`);
  const mountOf = (p: string) => c.volumeMounts.find((m: any) => p === m.mountPath || p.startsWith(`${m.mountPath}/`));
  const dataMount = mountOf(configs.kubernetes.storage.slice('sqlite:'.length));
  t.equal(dataMount?.mountPath, '/var/lib/paygate-relay', 'SQLite file on the data volume');
  t.ok((volumes.get(dataMount?.name) as any)?.persistentVolumeClaim, 'data volume is the PVC');
  const configMount = mountOf('/etc/paygate-relay/config.json');
  t.equal((volumes.get(configMount?.name) as any)?.configMap?.name, 'paygate-relay-config', 'config.json from the ConfigMap');
  for (const f of [configs.kubernetes.listen.tls.cert, configs.kubernetes.listen.tls.key]) {
    const m = mountOf(f);
    const secretVol = (volumes.get(m?.name) as any)?.secret;
    t.equal(secretVol?.secretName, 'paygate-relay-tls', `${f} from the TLS Secret`);
    t.notOk(m?.subPath, `${f}: no subPath, so renewals reach the pod`);
    t.ok(secretVol?.items === undefined || secretVol.items.some((i: any) => path.join(m.mountPath, i.path) === f), `${f} is projected`);
    t.ok(byKind('Secret').some((s) => s.metadata.name === 'paygate-relay-tls' && s.type === 'kubernetes.io/tls' && path.basename(f) in s.stringData), `${f}: key in the TLS Secret example`);
  }
  t.same(c.envFrom, [{ secretRef: { name: 'paygate-relay-secrets' } }], 'secrets via envFrom');
  t.same(c.args ?? c.command, ['node', 'dist/cli.js', 'serve', '--config', '/etc/paygate-relay/config.json']);
  t.equal(configs.kubernetes.listen.port, ports.get('https'), 'config listen.port = container https port');
  t.equal(configs.kubernetes.admin.listen.port, ports.get('admin'), 'config admin port = container admin port');
  t.equal(configs.kubernetes.admin.listen.host, '0.0.0.0', 'admin reachable from the ServiceMonitor (pod IP)');

  const services = byKind('Service');
  for (const s of services) {
    t.ok(matches(s.spec.selector), `Service ${s.metadata.name} selects the pod`);
    for (const p of s.spec.ports) t.ok(ports.has(p.targetPort), `Service ${s.metadata.name} targetPort ${p.targetPort} is a named container port`);
  }
  const pub = services.find((s) => s.spec.ports.some((p: any) => p.port === 443));
  t.equal(pub?.spec.ports[0].targetPort, 'https', '443 → https (8443)');
  t.equal(pub?.spec.externalTrafficPolicy, 'Local', 'client source IPs preserved for paygate.allowFrom');
  const admin = services.find((s) => s.spec.ports.some((p: any) => p.port === 9090));
  t.equal(admin?.spec.type, 'ClusterIP', 'admin/metrics Service is ClusterIP');
  t.notOk(pub?.spec.ports.some((p: any) => p.targetPort === 'admin'), 'admin port is not on the public Service');

  const pdb = byKind('PodDisruptionBudget')[0];
  t.ok(matches(pdb.spec.selector.matchLabels), 'PDB selects the pod');
  const sm = byKind('ServiceMonitor')[0];
  t.ok(Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => admin.metadata.labels[k] === v), 'ServiceMonitor selects the admin Service');
  t.ok(sm.spec.endpoints.every((e: any) => admin.spec.ports.some((p: any) => p.name === e.port)), 'ServiceMonitor port is the admin Service port');
  t.equal(admin.metadata.labels[sm.spec.jobLabel], 'paygate-relay', 'job label becomes "paygate-relay" (alerts match on it)');
  t.equal(sm.spec.endpoints[0].path, '/metrics');

  const np = byKind('NetworkPolicy')[0];
  t.ok(matches(np.spec.podSelector.matchLabels), 'NetworkPolicy selects the pod');

  for (const s of byKind('Secret')) t.equal(s.metadata.annotations?.['paygate-relay/example'], 'true', `Secret ${s.metadata.name} marked as example`);
  t.match(read('kubernetes/secret.example.yaml'), /^# EXAMPLE ONLY/m);
  t.notOk(kustomization.resources.includes('secret.example.yaml'), 'kustomization does not apply the example Secret');
});

// ---------------------------------------------------------------------------
// Dockerfile (no engine here: lint + structure + what the build context holds)
// ---------------------------------------------------------------------------
t.test('docker: Dockerfile lints clean and matches the brief', async (t) => {
  const text = read('Dockerfile');
  const diags = lintDockerfile(text).filter((d) => (d.severity ?? 1) <= 2);
  t.same(diags.map((d) => `line ${d.range.start.line + 1}: ${d.message}`), [], 'dockerfile-utils: no errors or warnings');

  const df = DockerfileParser.parse(text);
  const stages = df.getFROMs();
  const finalStage = stages.at(-1)!;
  t.ok(stages.length >= 3, 'multi-stage');
  t.match(text, /^ARG NODE_IMAGE=node:20-(bookworm-)?slim/m, 'node:20 slim (bookworm) base');
  const ins = df.getInstructions();
  const finalFrom = ins.indexOf(ins.find((i) => i.getRange().start.line === finalStage.getRange().start.line)!);
  const runtime = ins.slice(finalFrom);
  const build = ins.slice(0, finalFrom);
  const kw = (list: typeof ins, k: string) => list.filter((i) => i.getKeyword() === k).map((i) => i.getArgumentsContent() ?? '');
  t.match(kw(build, 'RUN').join('\n'), /apt-get install[^\n]*python3[^\n]*make[^\n]*g\+\+/, 'build tools in a build stage');
  t.notMatch(kw(runtime, 'RUN').join('\n'), /g\+\+|build-essential/, 'no compiler in the runtime stage');
  t.match(kw(build, 'RUN').join('\n'), /npm run build/);
  t.match(kw(build, 'RUN').join('\n'), /npm ci --omit=dev/);
  const user = kw(runtime, 'USER').at(-1) ?? '';
  t.match(user, /^[1-9]\d*(:\d+)?$/, 'numeric non-root USER (Kubernetes runAsNonRoot can verify it)');
  t.match(kw(runtime, 'HEALTHCHECK').join(''), /CMD \["node", "\/app\/healthcheck\.mjs"\]/, 'HEALTHCHECK runs node');
  t.same(kw(runtime, 'EXPOSE').join(' ').split(/\s+/).sort(), ['8443', '9090']);
  t.match(kw(runtime, 'VOLUME').join(''), /\/var\/lib\/paygate-relay/);
  t.same(JSON.parse(kw(runtime, 'CMD').at(-1)!), ['node', 'dist/cli.js', 'serve', '--config', '/etc/paygate-relay/config.json']);

  // every COPY from the context exists and survives Dockerfile.dockerignore
  const ignore = readFileSync(path.join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  t.equal(ignore[0], '*', 'dockerignore is an allow-list');
  const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  for (const i of ins.filter((i) => i.getKeyword() === 'COPY')) {
    if ((i as Copy).getFromFlag()) continue;
    for (const src of i.getArguments().map((a) => a.getValue()).slice(0, -1)) {
      t.ok(existsSync(path.join(ROOT, src)) || src === 'src', `COPY ${src}: exists in the repository`);
      t.ok(allowed.includes(src.replace(/\/$/, '')), `COPY ${src}: allowed by Dockerfile.dockerignore`);
    }
  }
  t.ok(existsSync(path.join(ROOT, 'package-lock.json')), 'package-lock.json for npm ci');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

function selfSignedCert(tt: Test, dir: string): { cert: string; key: string } | undefined {
  const openssl = tool(tt, 'openssl');
  if (!openssl) return undefined;
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  if (!existsSync(cert)) {
    const r = run(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', '/CN=paygate.example.com', '-addext', 'subjectAltName=DNS:paygate.example.com']);
    tt.equal(r.status, 0, `openssl: ${r.output}`);
  }
  return { cert, key };
}

function runNode(script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

t.test('docker: healthcheck.mjs probes /healthz over https, then http', async (t) => {
  const script = path.join(DEPLOY, 'docker/healthcheck.mjs');
  const handler: http.RequestListener = (req, res) => {
    res.statusCode = req.url === '/healthz' ? (handler as any).status ?? 200 : 404;
    res.end('{}');
  };
  const plain = http.createServer(handler);
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  t.teardown(() => plain.close());
  const plainPort = String((plain.address() as net.AddressInfo).port);

  let r = await runNode(script, { PORT: plainPort });
  t.equal(r.code, 0, `plain HTTP relay (TLS in front): healthy via fallback — ${r.out.trim()}`);
  t.match(r.out, /http:\/\/127\.0\.0\.1:\d+\/healthz -> 200/);

  (handler as any).status = 503;
  r = await runNode(script, { PORT: plainPort });
  t.equal(r.code, 1, `503 → unhealthy — ${r.out.trim()}`);
  (handler as any).status = 200;

  r = await runNode(script, { HEALTHCHECK_URL: `http://127.0.0.1:${plainPort}/healthz` });
  t.equal(r.code, 0, 'HEALTHCHECK_URL overrides');

  r = await runNode(script, { PORT: String(await freePort()) });
  t.equal(r.code, 1, `nothing listening → unhealthy — ${r.out.trim()}`);

  const pem = selfSignedCert(t, tmp);
  if (!pem) return;
  const tls = https.createServer({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) }, handler);
  await new Promise<void>((res) => tls.listen(0, '127.0.0.1', res));
  t.teardown(() => tls.close());
  r = await runNode(script, { PORT: String((tls.address() as net.AddressInfo).port) });
  t.equal(r.code, 0, `TLS relay with a certificate for another name: healthy — ${r.out.trim()}`);
  t.match(r.out, /https:\/\/127\.0\.0\.1:\d+\/healthz -> 200/);
});

// ---------------------------------------------------------------------------
// The real relay, started with the shipped configs
// ---------------------------------------------------------------------------
interface RunningRelay { proc: ChildProcess; output: () => string; exited: Promise<number | null> }

/** `paygate-relay serve` from src/ (tsx), as the image's CMD runs dist/cli.js. */
async function startRelay(tt: Test, name: string, config: any, env: Record<string, string> = {}): Promise<RunningRelay | undefined> {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const proc = spawn(process.execPath, ['--import', 'tsx', '--import', path.join(ROOT, 'test/helpers/tsx-workers.mjs'), path.join(ROOT, 'src/cli.ts'), 'serve', '--config', file], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...DUMMY_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  tt.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  const deadline = Date.now() + 15_000;
  while (!/"msg":"relay listening"/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) { tt.fail(`relay (${name}) did not start:\n${out}`); return undefined; }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, output: () => out, exited };
}

/** A loopback webhook receiver so the relay never reaches for example.com. */
async function webhookSink(tt: Test): Promise<{ url: string; received: { headers: http.IncomingHttpHeaders; body: string }[] }> {
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => { received.push({ headers: req.headers, body }); res.statusCode = 204; res.end(); });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  tt.teardown(() => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  return { url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/webhooks/paygate`, received };
}

function get(url: string, opts: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    lib.get(url, { rejectUnauthorized: false, agent: false, ...opts }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

t.test('relay: the container config starts it with TLS and a separate admin port; metrics, SIGHUP, SIGTERM', async (t) => {
  const pem = selfSignedCert(t, tmp);
  if (!pem) return;
  const port = await freePort();
  const adminPort = await freePort();
  const sink = await webhookSink(t);
  const cfg = structuredClone(configs.kubernetes);
  // Same config as the ConfigMap; only host paths and ports differ on this machine.
  cfg.listen.host = '127.0.0.1';
  cfg.listen.tls = { cert: pem.cert, key: pem.key };
  cfg.admin.listen = { host: '127.0.0.1', port: adminPort };
  cfg.storage = `sqlite:${path.join(tmp, 'relay-k8s', 'relay.db')}`;
  cfg.endpoints[0].url = sink.url;
  const relay = await startRelay(t, 'relay-k8s', cfg, { PORT: String(port) });
  if (!relay) return;

  const hc = await runNode(path.join(DEPLOY, 'docker/healthcheck.mjs'), { PORT: String(port) });
  t.equal(hc.code, 0, `image HEALTHCHECK against the real relay: ${hc.out.trim()}`);
  t.match(hc.out, /https:\/\/127\.0\.0\.1:\d+\/healthz -> 200/, 'over TLS, as PORT=8443 in the image');
  t.equal((await get(`https://127.0.0.1:${port}/readyz`)).status, 200, 'readinessProbe path /readyz answers 200 over HTTPS');
  t.equal((await get(`https://127.0.0.1:${port}/healthz`)).status, 200, 'livenessProbe path /healthz answers 200 over HTTPS');
  t.equal((await get(`https://127.0.0.1:${port}/metrics`)).status, 404, '/metrics is not on the public port');

  const metrics = await get(`http://127.0.0.1:${adminPort}/metrics`);
  t.equal(metrics.status, 200, 'ServiceMonitor target: /metrics on the admin port, no token');
  const types = Object.fromEntries([...metrics.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
  for (const [name, type] of Object.entries(RELAY_METRICS)) t.equal(types[name], type, `exposes ${name} (${type}) that alerts/dashboard use`);
  t.match(metrics.body, /^paygate_relay_ready 1$/m, 'paygate_relay_ready 1');
  const notAfter = Math.floor(Date.parse(new X509Certificate(readFileSync(pem.cert)).validTo) / 1000);
  t.match(metrics.body, new RegExp(`^paygate_relay_tls_certificate_expiry_timestamp_seconds ${notAfter}$`, 'm'), 'certificate expiry = notAfter');

  relay.proc.kill('SIGHUP'); // ExecReload=/bin/kill -HUP $MAINPID
  for (let i = 0; i < 40 && !/TLS certificate reloaded/.test(relay.output()); i++) await new Promise((r) => setTimeout(r, 50));
  t.match(relay.output(), /TLS certificate reloaded/, 'SIGHUP reloads the certificate');
  t.equal(relay.proc.exitCode, null, 'and the process keeps running');

  const t0 = Date.now();
  relay.proc.kill('SIGTERM');
  const code = await relay.exited;
  t.equal(code, 0, 'SIGTERM: drains and exits 0');
  t.ok(Date.now() - t0 < drainSeconds(cfg) * 1000, `idle drain finished in ${Date.now() - t0} ms, within drainMs`);
  t.match(relay.output(), /"msg":"draining"[\s\S]*"msg":"stopped"/, 'logs draining, then stopped');
});

// ---------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------
const NGINX_FILES = (pem: { cert: string; key: string }, dir: string): [string, string][] => [
  ['/etc/letsencrypt/live/paygate.example.com/fullchain.pem', pem.cert],
  ['/etc/letsencrypt/live/paygate.example.com/privkey.pem', pem.key],
  ['/var/log/nginx/', `${dir}/logs/`],
];

function rewrite(tt: Test, text: string, pairs: [string | RegExp, string][]): string {
  return pairs.reduce((acc, [from, to]) => {
    const re = from instanceof RegExp ? new RegExp(from.source, `${from.flags.replace('g', '')}g`) : new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
    const next = acc.replace(re, to);
    if (next === acc) tt.fail(`the test could not rewrite ${from} in paygate-relay.conf`);
    return next;
  }, text);
}

function nginxMain(dir: string, include: string): string {
  return [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/logs/error.log;`,
    'worker_processes 1;',
    'events { worker_connections 64; }',
    'http {',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${dir}/logs/${k}_temp;`),
    `  access_log ${dir}/logs/access.log;`,
    `  include ${include};`,
    '}',
    '',
  ].join('\n');
}

function nginxDir(name: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(path.join(dir, 'logs'), 0o777); // workers may run as nobody when the test runs as root
  return dir;
}

/** Run the shipped site on loopback ports in front of `upstreamPort`. */
async function startNginx(tt: Test, name: string, upstreamPort: number): Promise<{ tlsPort: number; httpPort: number; dir: string } | undefined> {
  const nginx = tool(tt, 'nginx');
  const pem = selfSignedCert(tt, tmp);
  if (!nginx || !pem) return undefined;
  const dir = nginxDir(name);
  const tlsPort = await freePort();
  const httpPort = await freePort();
  const site = rewrite(tt, read('nginx/paygate-relay.conf'), [
    ...NGINX_FILES(pem, dir),
    ['server 127.0.0.1:8080', `server 127.0.0.1:${upstreamPort}`],
    [/^\s*listen \[::\]:\d+( ssl)?;\n/m, ''], // IPv6 may be missing in a sandbox
    ['listen 443 ssl;', `listen 127.0.0.1:${tlsPort} ssl;`],
    [/listen 80;/, `listen 127.0.0.1:${httpPort};`],
  ]);
  writeFileSync(path.join(dir, 'site.conf'), site);
  writeFileSync(path.join(dir, 'nginx.conf'), nginxMain(dir, path.join(dir, 'site.conf')));
  const proc = spawn(nginx, ['-p', dir, '-e', 'stderr', '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise((r) => proc.once('exit', r));
  tt.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(tlsPort, '127.0.0.1');
      s.once('connect', () => { s.destroy(); r(true); }).once('error', () => r(false));
    });
    if (up) return { tlsPort, httpPort, dir };
    if (i > 100 || proc.exitCode !== null) { tt.fail(`nginx did not start: ${err}`); return undefined; }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }
function request(port: number, opts: { tls?: boolean; method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; from?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const lib = opts.tls === false ? http : https;
    const r = lib.request({
      host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, servername: 'paygate.example.com', localAddress: opts.from,
      rejectUnauthorized: false, agent: false, headers: { host: 'paygate.example.com', ...(opts.headers ?? {}) },
    }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    r.on('error', reject);
    r.end(opts.body);
  });
}

t.test('nginx: nginx -t accepts the site as shipped', async (t) => {
  const nginx = tool(t, 'nginx');
  const pem = selfSignedCert(t, tmp);
  if (!nginx || !pem) return;
  const dir = nginxDir('nginx-t');
  // Only file locations change; the listen directives stay as shipped (-t binds nothing).
  writeFileSync(path.join(dir, 'site.conf'), rewrite(t, read('nginx/paygate-relay.conf'), NGINX_FILES(pem, dir)));
  writeFileSync(path.join(dir, 'nginx.conf'), nginxMain(dir, path.join(dir, 'site.conf')));
  const check = run(nginx, ['-t', '-q', '-p', dir, '-e', 'stderr', '-c', path.join(dir, 'nginx.conf')]);
  t.equal(check.status, 0, `nginx -t: ${check.output}`);
  t.equal(check.output, '', 'nginx -t: no warnings');
});

t.test('nginx: only /paygate/ is proxied, with the intended headers and limits', async (t) => {
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const upstream = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.statusCode = req.url!.startsWith('/paygate/failure') ? 503 : 200;
      res.end('relay');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { upstream.closeAllConnections(); upstream.close(() => r()); }));
  const ngx = await startNginx(t, 'nginx-fake-upstream', (upstream.address() as net.AddressInfo).port);
  if (!ngx) return;
  const req = (o: Parameters<typeof request>[1]) => request(o.tls === false ? ngx.httpPort : ngx.tlsPort, o);

  const form = 'MerchantID=example_shop&Len=4&Data=ABCD';
  let res = await req({ method: 'POST', path: '/paygate/notify', body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.66' } });
  t.equal(res.status, 200, 'POST /paygate/notify reaches the relay');
  const got = seen.at(-1);
  t.equal(got?.url, '/paygate/notify');
  t.equal(got?.body, form, 'body forwarded unchanged');
  t.equal(got?.headers['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the real peer; a client-supplied value is dropped');
  t.equal(got?.headers['x-forwarded-proto'], 'https');
  t.equal(got?.headers.host, 'paygate.example.com');

  res = await req({ path: '/paygate/success?Len=4&Data=SECRETCIPHERTEXT' });
  t.equal(res.status, 200, 'browser return GET /paygate/success reaches the relay');
  t.equal(seen.at(-1)?.url, '/paygate/success?Len=4&Data=SECRETCIPHERTEXT', 'query string forwarded');

  const before = seen.length;
  res = await req({ method: 'POST', path: '/paygate/failure', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(res.status, 503, 'relay 503 passed through to Paygate (which retries)');
  t.equal(seen.length, before + 1, 'callback POST not replayed by the proxy');

  const count = seen.length;
  for (const p of ['/metrics', '/healthz', '/readyz', '/admin/events', '/console', '/', '/paygatex']) {
    res = await req({ path: p });
    t.equal(res.status, 404, `${p} is not public`);
  }
  t.equal(seen.length, count, 'none of them reached the relay');

  res = await req({ method: 'PUT', path: '/paygate/notify', body: 'x' });
  t.equal(res.status, 403, 'only GET/POST on /paygate/');
  res = await req({ method: 'POST', path: '/paygate/notify', body: Buffer.alloc(70 * 1024, 0x61), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(res.status, 413, 'body over 64k refused');
  res = await req({ method: 'POST', path: '/paygate/notify', body: Buffer.alloc(60 * 1024, 0x61), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(res.status, 200, 'body under 64k accepted');

  res = await req({ tls: false, path: '/paygate/notify' });
  t.equal(res.status, 301, 'plain HTTP redirects');
  t.equal(res.headers.location, 'https://paygate.example.com/paygate/notify');

  const log = readFileSync(path.join(ngx.dir, 'logs/paygate-relay.access.log'), 'utf8');
  t.match(log, /GET \/paygate\/success HTTP\/1\.1" 200/, 'access log has the request');
  t.notMatch(log, /SECRETCIPHERTEXT/, 'access log omits query strings (encrypted payment data)');
  t.notMatch(readFileSync(path.join(ngx.dir, 'logs/paygate-relay.error.log'), 'utf8'), /\[(emerg|alert|crit)\]/, 'no serious errors logged');
});

t.test('nginx + relay: the nginx config example behind the site; allowFrom sees the real client, not a forged header', async (t) => {
  // Clients connect from 127.0.0.2 ("Paygate") or 127.0.0.1 ("someone else"); nginx itself
  // reaches the relay from 127.0.0.1, the trusted proxy. allowFrom admits only 127.0.0.2, so a
  // callback only gets in if the relay takes the address from nginx's X-Forwarded-For.
  const relayPort = await freePort();
  const sink = await webhookSink(t);
  const cfg = structuredClone(configs.nginx);
  cfg.listen.port = relayPort;
  cfg.admin.listen.port = await freePort();
  cfg.storage = `sqlite:${path.join(tmp, 'relay-nginx', 'relay.db')}`;
  cfg.paygate.allowFrom = ['127.0.0.2/32'];
  cfg.endpoints[0].url = sink.url;
  const relay = await startRelay(t, 'relay-nginx', cfg);
  if (!relay) return;
  const ngx = await startNginx(t, 'nginx-relay', relayPort);
  if (!ngx) return;

  // a genuine callback, built by the relay's own simulator with the merchant's keys
  const sim = run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'simulate', '--config', path.join(tmp, 'relay-nginx', 'config.json'),
    '--merchant', 'example_shop', '--code', '00000000', '--trans-id', 'DEPLOYTEST1'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...DUMMY_ENV } });
  t.equal(sim.status, 0, `simulate: ${sim.stderr}`);
  const cb = JSON.parse(sim.stdout);

  let res = await request(ngx.tlsPort, { method: 'POST', path: cb.path, body: cb.body, from: '127.0.0.1',
    headers: { 'content-type': cb.contentType, 'x-forwarded-for': '127.0.0.2' } });
  t.equal(res.status, 403, `forged X-Forwarded-For from a disallowed client is refused: ${res.body}`);

  res = await request(ngx.tlsPort, { method: 'POST', path: cb.path, body: cb.body, from: '127.0.0.2', headers: { 'content-type': cb.contentType } });
  t.equal(res.status, 200, `callback from the allowed address through nginx is accepted: ${res.body}`);

  for (let i = 0; i < 100 && sink.received.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(sink.received.length, 1, 'the event was delivered to the webhook endpoint');
  t.ok(sink.received[0]?.headers['webhook-signature'], 'signed (Standard Webhooks)');
  t.match(sink.received[0]?.body ?? '', /DEPLOYTEST1/, 'carrying the transaction');

  relay.proc.kill('SIGTERM');
  t.equal(await relay.exited, 0, 'relay drains and exits 0');
});

t.test('relay: a renewed certificate in a Kubernetes Secret volume is picked up without a restart', async (t) => {
  // The kubelet's atomic writer: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>; an update
  // writes a new ..<timestamp> directory and renames a new ..data_tmp symlink over ..data.
  const openssl = tool(t, 'openssl');
  if (!openssl) return;
  const vol = path.join(tmp, 'k8s-secret-volume');
  for (const [v, days] of [['..v1', '2'], ['..v2', '30']] as const) {
    mkdirSync(path.join(vol, v), { recursive: true });
    run(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(vol, v, 'tls.key'),
      '-out', path.join(vol, v, 'tls.crt'), '-days', days, '-subj', '/CN=paygate.example.com']);
  }
  symlinkSync('..v1', path.join(vol, '..data'));
  symlinkSync('..data/tls.crt', path.join(vol, 'tls.crt'));
  symlinkSync('..data/tls.key', path.join(vol, 'tls.key'));
  const adminPort = await freePort();
  const sink = await webhookSink(t);
  const cfg = structuredClone(configs.kubernetes);
  cfg.listen = { host: '127.0.0.1', port: await freePort(), tls: { cert: path.join(vol, 'tls.crt'), key: path.join(vol, 'tls.key') } };
  cfg.admin.listen = { host: '127.0.0.1', port: adminPort };
  cfg.storage = `sqlite:${path.join(tmp, 'relay-renew', 'relay.db')}`;
  cfg.endpoints[0].url = sink.url;
  const relay = await startRelay(t, 'relay-renew', cfg);
  if (!relay) return;
  const expiry = async () => Number((await get(`http://127.0.0.1:${adminPort}/metrics`)).body.match(/^paygate_relay_tls_certificate_expiry_timestamp_seconds (\d+)$/m)?.[1]);
  const notAfter = (v: string) => Math.floor(Date.parse(new X509Certificate(readFileSync(path.join(vol, v, 'tls.crt'))).validTo) / 1000);
  t.equal(await expiry(), notAfter('..v1'), 'serves the first certificate');
  symlinkSync('..v2', path.join(vol, '..data_tmp'));
  renameSync(path.join(vol, '..data_tmp'), path.join(vol, '..data'));
  let now = 0;
  for (let i = 0; i < 15 && (now = await expiry()) !== notAfter('..v2'); i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(now, notAfter('..v2'), 'serves the renewed certificate after the ..data swap');
  relay.proc.kill('SIGHUP'); // what a reloader sidecar / kubectl exec kill -HUP 1 would do meanwhile
  for (let i = 0; i < 30 && (now = await expiry()) !== notAfter('..v2'); i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(now, notAfter('..v2'), 'SIGHUP picks up the renewed certificate from the swapped volume');
  relay.proc.kill('SIGTERM');
  await relay.exited;
});
