import { isIP } from 'node:net';
import { z } from 'zod';
import { eventCatalogue } from '../events/catalogue.js';
import { EVENT_GLOB, compileGlob } from '../events/glob.js';
import { FEATURES } from '../features.js';
import { parseDuration } from '../lifecycle/duration.js';
import { isLoopbackIp, parseCidr } from '../net/cidr.js';

/** `<n>s|m|h|d`, as milliseconds. */
const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration: write <n>s, <n>m, <n>h or <n>d, e.g. "30d"` });
    return z.NEVER;
  }
  return ms;
});

const DAY_MS = 86_400_000;
export const retentionSchema = z
  .object({
    $comment: z.string().optional(),
    delivered: duration.default(30 * DAY_MS),
    callbacks: duration.default(90 * DAY_MS),
    quarantine: duration.default(180 * DAY_MS),
    deadLetters: duration.default(180 * DAY_MS),
    // A timer cannot wait longer than 2^31-1 ms (24.8 days); a day is already a long time for storage to grow.
    sweepEvery: duration.pipe(z.number().max(86_400_000, 'at most 24h')).default(600_000),
    // Absent: `archive` beside the SQLite file (./data/archive with the default storage), ./data/archive with PostgreSQL.
    // false: purge without keeping a copy.
    archiveDir: z.union([z.string().min(1, 'must not be empty (false turns the archive off)'), z.literal(false)]).optional(),
  })
  .strict();
export type RetentionConfig = z.output<typeof retentionSchema>;
const RETENTION_PARSED = retentionSchema.parse({});

const byteLen = (s: string) => Buffer.byteLength(s, 'utf8');

const LIMIT_DEFAULTS = { bodyBytes: 64 * 1024, maxPendingCallbacks: 256, maxEventLoopDelayMs: 200, overloadRetryAfterSeconds: 1 };

const keySlot = z
  .object({
    blowfish: z.string().min(1, 'must not be empty').optional(),
    aes: z.string().optional(),
    hmac: z.string().min(1, 'must not be empty'),
  })
  .strict()
  .superRefine((slot, ctx) => {
    if (slot.blowfish !== undefined && byteLen(slot.blowfish) > 56) {
      ctx.addIssue({ code: 'custom', path: ['blowfish'], message: 'Blowfish key must be 1 to 56 bytes' });
    }
    if (slot.aes !== undefined && ![16, 24, 32].includes(byteLen(slot.aes))) {
      ctx.addIssue({ code: 'custom', path: ['aes'], message: 'AES key must be 16, 24 or 32 bytes' });
    }
  });

const httpUrl = z.url({ protocol: /^https?$/ });

const merchant = z
  .object({
    $comment: z.string().optional(),
    id: z.string().min(1).max(30),
    encryption: z.enum(['blowfish', 'aes']).default('blowfish'),
    keys: z.array(keySlot).min(1, 'at least one key slot is required'),
    returnUrls: z
      .object({ success: httpUrl, failure: httpUrl, pending: httpUrl.optional() })
      .strict()
      .optional(),
    // "redirect-only": browser returns are stored and redirected but make no event (events come from notify).
    browserReturns: z.enum(['events', 'redirect-only']).default('events'),
  })
  .strict()
  .superRefine((m, ctx) => {
    m.keys.forEach((slot, i) => {
      const field = m.encryption === 'aes' ? 'aes' : 'blowfish';
      if (slot[field] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['keys', i, field], message: `required for a ${m.encryption} merchant` });
      }
    });
  });

const whsec = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_<base64>')
  .refine((s) => {
    const n = Buffer.from(s.slice(6), 'base64').length;
    return n >= 24 && n <= 64;
  }, 'the base64 part must decode to 24..64 bytes');

const eventGlob = z.string().regex(EVENT_GLOB, 'event filter must be dot-separated segments of [a-z0-9_*]');

const endpoint = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id must be 1..64 of [A-Za-z0-9_-]'),
    url: httpUrl,
    secret: z.union([whsec, z.array(whsec).min(1)]),
    events: z.array(eventGlob).min(1).optional(),
    merchants: z.array(z.string().min(1)).min(1).optional(),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    ordering: z.enum(['transaction', 'none']).default('transaction'),
    enabled: z.boolean().default(true),
    concurrency: z.number().int().min(1).max(256).default(8),
    retryScheduleMs: z.array(z.number().int().min(0).max(7 * 24 * 3600_000)).min(1).optional(),
    jitter: z.number().min(0).max(0.5).default(0.2),
    disableAfterFailingMs: z.number().int().min(1000).default(5 * 24 * 3600_000),
    allowInsecure: z.boolean().default(false),
  })
  .strict()
  .superRefine((e, ctx) => {
    // An IP literal is decided here; a name (localhost) by the addresses it resolves to at start (src/startup.ts).
    const u = new URL(e.url);
    const ipLiteral = isIP(u.hostname.replace(/^\[(.*)\]$/, '$1')) !== 0;
    if (u.protocol === 'http:' && ipLiteral && !isLoopbackIp(u.hostname) && !e.allowInsecure) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'plain http is only allowed for loopback unless allowInsecure is true' });
    }
  });

/** An IPv4/IPv6 address or CIDR block, checked with node:net so it means what BlockList will match. */
const cidr = z.string().refine((v) => parseCidr(v) !== null, 'must be an IP address or CIDR block, e.g. 10.0.0.0/8 or ::1');

const urlSecret = z.string().min(32, 'a URL secret must be at least 32 characters');

const adminToken = z.union([
  z.string().min(16, 'admin tokens must be at least 16 characters'),
  z
    .object({ token: z.string().min(16, 'admin tokens must be at least 16 characters'), role: z.enum(['viewer', 'operator']) })
    .strict(),
]);

export const configSchema = z
  .object({
    $comment: z.string().optional(),
    listen: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
        timeouts: z
          .object({
            // Slowloris guard: the whole header block must arrive within this.
            headersMs: z.number().int().min(1000).max(120_000).default(10_000),
            requestMs: z.number().int().min(1000).max(300_000).default(30_000),
            keepAliveMs: z.number().int().min(1000).max(120_000).default(5_000),
          })
          .strict()
          .default({ headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 }),
        // Processes that take callbacks on the port (HTTP, decryption, event building), handing
        // ready rows to the primary, which alone writes (see docs/performance.md). 1: one process.
        workers: z.number().int().min(1).max(64).default(1),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 8080, timeouts: { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 }, workers: 1 }),
    trustProxy: z.array(cidr).min(1).optional(),
    paygate: z
      .object({
        allowFrom: z.array(cidr).min(1).optional(),
        // Signs callback URLs (src/paygate/url-token.ts): one secret, or a list, newest first, for rotation.
        urlSecret: z.union([urlSecret, z.array(urlSecret).min(1)]).optional(),
        rateLimit: z
          .object({ perSecond: z.number().positive().max(100_000), burst: z.number().int().min(1).max(1_000_000) })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    storage: z
      .string()
      .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)/, 'storage must be sqlite:<path> or postgres://user@host:5432/db?schema=name')
      .default('sqlite:./data/relay.db'),
    merchants: z.array(merchant).min(1, 'at least one merchant is required'),
    endpoints: z.array(endpoint).default([]),
    admin: z
      .object({
        tokens: z.array(adminToken).default([]),
        // A separate listener keeps the admin API, /metrics and the console off the public port.
        listen: z.object({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65535) }).strict().optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        bodyBytes: z.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
        // Backpressure (src/net/admission.ts): past either bound a callback gets 503 + Retry-After at once.
        maxPendingCallbacks: z.number().int().min(1).max(1_000_000).default(LIMIT_DEFAULTS.maxPendingCallbacks),
        maxEventLoopDelayMs: z.number().int().min(10).max(60_000).default(LIMIT_DEFAULTS.maxEventLoopDelayMs),
        overloadRetryAfterSeconds: z.number().int().min(1).max(3600).default(LIMIT_DEFAULTS.overloadRetryAfterSeconds),
      })
      .strict()
      .default(LIMIT_DEFAULTS),
    delivery: z
      .object({
        pollIntervalMs: z.number().int().min(10).max(60_000).default(1000),
        leaseMs: z.number().int().min(1000).default(120_000),
      })
      .strict()
      .default({ pollIntervalMs: 1000, leaseMs: 120_000 }),
    shutdown: z.object({ drainMs: z.number().int().min(0).max(600_000).default(25_000) }).strict().default({ drainMs: 25_000 }),
    // OpenTelemetry traces over OTLP/HTTP (JSON); off, and not even loaded, when absent.
    tracing: z
      .object({
        serviceName: z.string().min(1).default('paygate-relay'),
        exportIntervalMs: z.number().int().min(100).max(60_000).default(5000),
        otlp: z
          .object({
            url: httpUrl,
            headers: z.record(z.string(), z.string()).optional(),
            timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
          })
          .strict(),
      })
      .strict()
      .optional(),
    // Data lifecycle (src/lifecycle/): on with these defaults when absent.
    retention: retentionSchema.default(RETENTION_PARSED),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    // Each feature's section under its name (optional: absent = off). Typed by the feature (featureSection()), not here.
    ...(Object.fromEntries(FEATURES.map((f) => [f.name, f.configSchema.optional()])) as {}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.merchants.forEach((m, i) => {
      if (seen.has(m.id)) ctx.addIssue({ code: 'custom', path: ['merchants', i, 'id'], message: `duplicate merchant id ${m.id}` });
      seen.add(m.id);
    });
    const knownMerchants = (list: string[] | undefined, path: (string | number)[]) => list?.forEach((m, j) => {
      if (!seen.has(m)) ctx.addIssue({ code: 'custom', path: [...path, 'merchants', j], message: `unknown merchant ${m}` });
    });
    const eps = new Set<string>();
    c.endpoints.forEach((e, i) => {
      if (eps.has(e.id)) ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'id'], message: `duplicate endpoint id ${e.id}` });
      const owner = FEATURES.find((f) => f.reservedEndpointIds?.includes(e.id));
      if (owner) ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'id'], message: `endpoint id ${e.id} is reserved for the ${owner.name} feature` });
      eps.add(e.id);
      knownMerchants(e.merchants, ['endpoints', i]);
    });
    for (const f of FEATURES) {
      const section = (c as Record<string, unknown>)[f.name];
      if (section === undefined) continue;
      f.checkConfig?.(section, { merchantIds: seen, issue: (path, message) => ctx.addIssue({ code: 'custom', path: [f.name, ...path], message }) });
    }
    // With workers the public port serves only callbacks and health: the admin API, the console and
    // /metrics would silently disappear without a listener of the primary's own.
    if (c.listen.workers > 1 && c.admin?.listen === undefined) {
      ctx.addIssue({ code: 'custom', path: ['listen', 'workers'], message: 'several workers need admin.listen: the admin API, the console and /metrics are served there by the primary process' });
    }
    // A filter that matches no type the relay can emit would deliver nothing, silently.
    const configured = FEATURES.filter((f) => (c as Record<string, unknown>)[f.name] !== undefined);
    const typesOf = (f: (typeof FEATURES)[number]) => (f.events ?? []).flatMap((family) => family.types);
    const catalogue = eventCatalogue(configured.flatMap(typesOf));
    c.endpoints.forEach((e, i) => e.events?.forEach((glob, j) => {
      const re = compileGlob(glob);
      if (catalogue.some((type) => re.test(type))) return;
      const feature = FEATURES.find((f) => !configured.includes(f) && typesOf(f).some((type) => re.test(type)));
      const hint = feature ? ` (those events come from ${feature.name}, which is not configured)` : ' (use "*" for all)';
      ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'events', j], message: `"${glob}" matches no event type${hint}; event types: ${catalogue.join(', ')}` });
    }));
  });

export type Config = z.output<typeof configSchema>;
export type MerchantConfig = Config['merchants'][number];
export type EndpointConfig = Config['endpoints'][number];
