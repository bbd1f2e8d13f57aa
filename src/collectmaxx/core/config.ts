// The `collectmaxx` config section, to be embedded by the main schema as
// `collectmaxx: collectmaxxConfigSchema.optional()`. Rules are checked as far
// as static checking goes — known columns, parseable templates, every column
// the rule's services require has a template — so a rule that could only ever
// produce rejects fails at start-up, not record by record.

import { z } from 'zod';
import { EVENT_TYPES } from '../../paygate/operation.js';
import { CLIENT_NUMBER } from './filename.js';
import { isCountryCallingCode } from './phone.js';
import { deliveryField, matrixColumns, requiredRows, SERVICES } from './spec.js';
import { parseTemplate, TemplateError } from './template.js';

/** The id of the in-process outbox endpoint that feeds the exporter; config endpoints may not use it. */
export const COLLECTMAXX_ENDPOINT_ID = 'collectmaxx';

/** Columns the relay fills itself: the identifier (traceability) and the rule's flowId. */
export const RELAY_FILLED_COLUMNS = ['IDENTIFICATION_IDENTIFIER', 'CONTROL_FLOWID'] as const;

export const exportRuleSchema = z
  .object({
    /** Paygate event type(s) that produce a record. */
    on: z.union([z.enum(EVENT_TYPES), z.array(z.enum(EVENT_TYPES)).min(1)]),
    /** Only events of these merchants; all when absent. */
    merchants: z.array(z.string().min(1)).min(1).optional(),
    /** CONTROL_FLOWID: the Alphacomm script. */
    flowId: z.string().regex(/^[^\s\u0000-\u001F\u007F](?:[^\u0000-\u001F\u007F]{0,8}[^\s\u0000-\u001F\u007F])?$/, 'flowId must be 1-10 characters, trimmed'),
    services: z.array(z.enum(SERVICES)).min(1),
    /** Column → template, e.g. "PERSON_FAMILYNAME": "{custom.lastname}". */
    fields: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (new Set(rule.services).size !== rule.services.length) ctx.addIssue({ code: 'custom', path: ['services'], message: 'services must not repeat' });
    for (const [column, template] of Object.entries(rule.fields)) {
      if (!deliveryField(column)) ctx.addIssue({ code: 'custom', path: ['fields', column], message: `${column} is not a Collectmaxx delivery column` });
      else if ((RELAY_FILLED_COLUMNS as readonly string[]).includes(column)) {
        ctx.addIssue({ code: 'custom', path: ['fields', column], message: `${column} is filled by the relay and cannot be templated` });
      }
      try {
        parseTemplate(template);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        ctx.addIssue({ code: 'custom', path: ['fields', column], message: err.message });
      }
    }
    for (const row of requiredRows(rule.services)) {
      const columns = matrixColumns(row.row);
      if (columns.some((c) => (RELAY_FILLED_COLUMNS as readonly string[]).includes(c) || c in rule.fields)) continue;
      if (row.row === 'SERVICES_ENRICHMENT') continue; // set to 1 by the relay for enrichment rules
      const services = rule.services.filter((s) => row.required[s]).join(', ');
      ctx.addIssue({ code: 'custom', path: ['fields'], message: `${row.row} is required for ${services} but has no template` });
    }
  });

// OpenSSH prints host keys as "SHA256:<base64 without padding>"; hex is accepted too.
const hostKeySha256 = z.string().transform((s, ctx) => {
  const b64 = s.startsWith('SHA256:') ? s.slice(7) : s;
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(s)) bytes = Buffer.from(s, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(b64)) bytes = Buffer.from(b64, 'base64');
  if (!bytes || bytes.length !== 32) {
    ctx.addIssue({ code: 'custom', message: 'hostKeySha256 must be an SSH SHA-256 fingerprint: "SHA256:<base64>" or 64 hex digits' });
    return z.NEVER;
  }
  return `SHA256:${bytes.toString('base64').replace(/=+$/, '')}`;
});

const dir = z.string().min(1);

export const exportConfigSchema = z
  .object({
    clientNumber: z.string().regex(CLIENT_NUMBER, 'clientNumber must be 1-32 letters or digits (it goes into file names)'),
    format: z.enum(['csv', 'xml']).default('csv'),
    outboxDir: dir,
    batch: z
      .object({
        maxRecords: z.number().int().min(1).max(100_000).default(1000),
        maxDelayMs: z.number().int().min(0).max(86_400_000).default(300_000),
      })
      .strict()
      .default({ maxRecords: 1000, maxDelayMs: 300_000 }),
    /** Replaces a national leading 0 in phone numbers; the specification's own default is the Netherlands. */
    defaultCountryCode: z.string().refine(isCountryCallingCode, 'defaultCountryCode must be a calling code like "31" or "49"').default('31'),
    rules: z.array(exportRuleSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Same flow on the same event type would give both records one identifier: one would vanish.
    const seen = new Map<string, number>();
    c.rules.forEach((r, i) => {
      for (const type of Array.isArray(r.on) ? r.on : [r.on]) {
        const key = `${r.flowId}\u0000${type}`;
        const first = seen.get(key);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['rules', i], message: `rules[${first}] already sends ${type} to flow ${r.flowId}` });
        else seen.set(key, i);
      }
    });
  });

export const importConfigSchema = z.object({ inboxDir: dir }).strict();

export const sftpConfigSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().min(1),
    /** The key itself (PEM / OpenSSH), usually "${ENV_VAR}"; not a path. */
    privateKey: z.string().regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'privateKey must be the key text (PEM/OpenSSH), not a path').optional(),
    passphrase: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** Mandatory: the specification's transport relies on verifying the server fingerprint. */
    hostKeySha256,
    uploadDir: dir,
    resultsDir: dir,
    pollIntervalMs: z.number().int().min(10_000).max(86_400_000).default(300_000),
    /** Delete result files on the server after a successful import. */
    deleteRemote: z.boolean().default(false),
  })
  .strict()
  .superRefine((s, ctx) => {
    // Alphacomm may check both a password and a key, so both may be given; one is needed.
    if (s.privateKey === undefined && s.password === undefined) ctx.addIssue({ code: 'custom', message: 'sftp needs privateKey or password' });
    if (s.passphrase !== undefined && s.privateKey === undefined) ctx.addIssue({ code: 'custom', path: ['passphrase'], message: 'passphrase needs privateKey' });
  });

/**
 * Result files are far larger than callbacks. Parsing costs about 7x the file size in heap
 * (the decoded text plus a small object per cell: an 18 MiB file took 120 MiB), so the cap
 * keeps one import to ~120 MiB of heap at worst (imports run one at a time).
 */
export const DEFAULT_RESULT_FILE_MAX_BYTES = 16 * 1024 * 1024;

export const collectmaxxConfigSchema = z
  .object({
    export: exportConfigSchema.optional(),
    import: importConfigSchema.optional(),
    sftp: sftpConfigSchema.optional(),
    /** One size cap for a result file, whichever way it comes (admin API, console, inbox, SFTP; the CLI warns). */
    maxResultFileBytes: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(DEFAULT_RESULT_FILE_MAX_BYTES),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Downloaded result files land in the inbox, which keeps a failed file (with its reason) for the operator.
    if (c.sftp && !c.import) ctx.addIssue({ code: 'custom', path: ['import'], message: 'collectmaxx.sftp needs collectmaxx.import.inboxDir: downloaded result files are imported from there' });
  });

export type CollectmaxxConfig = z.output<typeof collectmaxxConfigSchema>;
export type ExportConfig = z.output<typeof exportConfigSchema>;
export type ExportRule = z.output<typeof exportRuleSchema>;
export type ImportConfig = z.output<typeof importConfigSchema>;
export type SftpConfig = z.output<typeof sftpConfigSchema>;
