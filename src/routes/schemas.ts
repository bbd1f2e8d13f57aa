// zod schemas shared by the HTTP routes: the error body, pages, the filters of the admin
// API and the console, and the event shapes answers refer to. A schema registered here
// with an `id` becomes a named component of openapi.yaml and is referenced, not repeated.

import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { isEventGlob } from '../events/glob.js';
import { paygateEventSchema } from '../events/schema.js';

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;

/** Registers a schema as a named component (`#/components/schemas/<id>`), keeping its description. */
export function component<T extends z.ZodType>(id: string, schema: T): T {
  const meta = z.globalRegistry.get(schema);
  if (meta?.id === id) return schema;
  if (meta) z.globalRegistry.remove(schema);
  z.globalRegistry.add(schema, { ...meta, id });
  return schema;
}

export const errorBodySchema = component('Error', z.object({
  error: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  detail: z.string().optional(),
  callbackId: z.string().optional(),
}));

export const paygateEvent = component('PaygateEvent', paygateEventSchema);
/** An event a feature published (e.g. from a Collectmaxx result file): the common envelope; its own schema is under webhooks. */
export const featureEvent = component('FeatureEvent', z.looseObject({
  id: z.string(), type: z.string(), source: z.string(), receivedAt: z.iso.datetime(), data: z.record(z.string(), z.unknown()),
}).meta({ description: 'An event published by a feature (source names it); the webhooks section has each type\'s full schema.' }));

/** A JSON error answer with the status-specific description openapi.yaml shows. */
export const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorBodySchema } } });
export const textResponse = (description: string) => ({ description, content: { 'text/plain': { schema: z.string() } } });
export const jsonResponse = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { 'application/json': { schema } } });

/** Any JSON object (answers whose fields are documented in the README rather than here). */
export const anyObject = z.looseObject({});

/** A body a request may leave out (Fastify reads a POST without one as null): documented with required: false. */
export const optionalBody = <T extends z.ZodType>(schema: T) => schema.nullish();

export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next: z.string().nullable() });

// ------------------------------------------------------------------ filter values
// Query strings carry strings; JSON bodies may carry numbers and booleans. An empty value
// (a cleared form field) means "no filter", as it always has.

const blank = (v: unknown) => v === undefined || v === '';

/** An optional free-text filter; '' is absent. */
export const text = () => z.string().optional().transform((v) => (blank(v) ? undefined : v));

/** ISO 8601 or epoch milliseconds, as a string (query) or a number (JSON body). */
export const time = (name: string) =>
  z.union([z.string(), z.number()]).optional()
    .transform((v, ctx) => {
      if (blank(v)) return undefined;
      const s = String(v);
      const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
      if (Number.isNaN(t)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an ISO 8601 time or epoch milliseconds` });
        return z.NEVER;
      }
      return t;
    })
    .meta({ description: 'ISO 8601 time or epoch milliseconds.' });

/** An event-type glob such as `mandate.*`. */
export const typeGlob = () =>
  text().refine((v) => v === undefined || isEventGlob(v), 'type must be an event type or glob such as mandate.*')
    .meta({ description: 'Event type or glob (`*` within one dot segment), e.g. mandate.*' });

/** Page size 1..MAX_PAGE; absent or '' is the default. */
export const limit = () =>
  z.union([z.string(), z.number()]).optional()
    .transform((v, ctx) => {
      if (blank(v)) return DEFAULT_PAGE;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
        ctx.addIssue({ code: 'custom', message: `limit must be 1..${MAX_PAGE}` });
        return z.NEVER;
      }
      return n;
    })
    .meta({ description: `Page size, 1..${MAX_PAGE} (default ${DEFAULT_PAGE}).` });

export const cursor = () => text().meta({ description: 'The `next` of the previous page.' });

/** `true`/`false` in a query string, a boolean in a JSON body; absent stays absent so a body can leave it to the query. */
export const flag = () =>
  z.union([z.boolean(), z.enum(['true', 'false', ''])]).optional().transform((v) => (blank(v) ? undefined : v === true || v === 'true'));

// ------------------------------------------------------------------ filters

export const eventFilterSchema = z.object({
  type: typeGlob(), transId: text(), payId: text(), mandateId: text(), merchantId: text(),
  outcome: text(), since: time('since'), until: time('until'),
});

export const quarantineFilterSchema = z.object({
  reason: text(), merchantId: text(),
  claimedMerchantId: text().meta({ description: 'The merchant a callback only named in its plain MerchantID (no key of it verified the callback).' }),
  since: time('since'), until: time('until'),
});

export const conflictFilterSchema = z.object({ merchantId: text(), transId: text(), since: time('since'), until: time('until') });

/** Dead letters: `endpoint` is the endpoint id. */
export const deadLetterFilterSchema = z.object({ endpoint: text(), type: typeGlob(), since: time('since'), until: time('until') });

export const pageQuery = z.object({ limit: limit(), cursor: cursor() });

export const idParams = z.object({ id: z.string() });

/** A zod error as one line an operator can act on: `limit must be 1..200; since: Invalid input`. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => {
    const where = i.path.map(String).join('.');
    return where === '' || i.message.startsWith(where) ? i.message : `${where}: ${i.message}`;
  }).join('; ');
}

/** Filters from the query string and, for bulk actions, a JSON or form body: the body wins per key. */
export function merged<T extends object>(query: T, body: Partial<T> | null | undefined): T {
  const out = { ...query };
  for (const [k, v] of Object.entries(body ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
