// Field templates of an export rule: literal text with `{path}` placeholders
// resolved against the stored event. Templates are parsed once (at config
// load, so a typo fails the start, not every record) and rendered per event.
// A missing value renders as empty: whether that is fatal depends on the
// rule's services, which validation decides with a precise reason.

import { addDays, assertIsoDate } from './dates.js';

/**
 * Paths start at the event envelope (`id`, `type`, `merchantId`, `data.transId`,
 * …). `fields.x` and `custom.x` are shorthands for `data.fields.x` and
 * `data.custom.x`. `today` and `today+N` / `today-N` give the render day
 * (YYYY-MM-DD) shifted by N days, e.g. for an INVOICE_DUEDATE two weeks out.
 */
export const TEMPLATE_ROOTS = [
  'id', 'type', 'source', 'merchantId', 'operation', 'outcome', 'channel', 'receivedAt', 'data', 'fields', 'custom',
] as const;

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'path'; readonly source: string; readonly path: readonly string[] }
  | { readonly kind: 'today'; readonly source: string; readonly offsetDays: number };

export interface ParsedTemplate {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

export class TemplateError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} at character ${position + 1}`);
    this.name = 'TemplateError';
    this.position = position;
  }
}

// Custom keys come "as given" from the shop, so segments allow anything but
// the syntax characters and whitespace.
const SEGMENT = /^[^{}.\s]+$/;
const TODAY = /^today(?:([+-])(\d{1,4}))?$/;

function parsePlaceholder(inner: string, at: number): TemplatePart {
  const source = `{${inner}}`;
  const t = TODAY.exec(inner);
  if (t) return { kind: 'today', source, offsetDays: t[1] === '-' ? -Number(t[2]) : Number(t[2] ?? 0) };
  const path = inner.split('.');
  if (path.some((s) => !SEGMENT.test(s))) throw new TemplateError(`invalid placeholder ${source}`, at);
  const root = path[0] as string;
  if (!(TEMPLATE_ROOTS as readonly string[]).includes(root)) {
    throw new TemplateError(`unknown placeholder root "${root}" (use one of ${TEMPLATE_ROOTS.join(', ')}, today)`, at);
  }
  return { kind: 'path', source, path };
}

/** Parse a template; `{{` and `}}` are literal braces. Throws TemplateError. */
export function parseTemplate(source: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let text = '';
  let k = 0;
  while (k < source.length) {
    const c = source[k] as string;
    if (c === '{' && source[k + 1] === '{') { text += '{'; k += 2; continue; }
    if (c === '}' && source[k + 1] === '}') { text += '}'; k += 2; continue; }
    if (c === '}') throw new TemplateError('unmatched "}" (write "}}" for a literal brace)', k);
    if (c === '{') {
      const end = source.indexOf('}', k + 1);
      if (end < 0) throw new TemplateError('unclosed "{"', k);
      if (text) parts.push({ kind: 'text', text });
      text = '';
      parts.push(parsePlaceholder(source.slice(k + 1, end), k));
      k = end + 1;
      continue;
    }
    text += c;
    k++;
  }
  if (text) parts.push({ kind: 'text', text });
  return { source, parts };
}

/** The part of an event a template can see; a stored Paygate event fits it. */
export interface TemplateEvent {
  readonly [key: string]: unknown;
  readonly data?: unknown;
}

function lookup(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(rec, key)) return rec[key];
  // Paygate lower-cases `fields` keys and shops spell custom keys as they like:
  // accept a case-insensitive match, but only when it is unambiguous.
  const lower = key.toLowerCase();
  const hits = Object.keys(rec).filter((k) => k.toLowerCase() === lower);
  return hits.length === 1 ? rec[hits[0] as string] : undefined;
}

function resolve(event: TemplateEvent, path: readonly string[]): unknown {
  const [root, ...rest] = path;
  let cur: unknown = root === 'fields' || root === 'custom' ? lookup(event.data, root) : lookup(event, root as string);
  for (const seg of rest) cur = lookup(cur, seg);
  return cur;
}

export interface RenderResult {
  readonly value: string;
  /** Placeholders that had no scalar value (they rendered as empty). */
  readonly unresolved: readonly string[];
}

export function renderTemplate(t: ParsedTemplate, event: TemplateEvent, today: string): RenderResult {
  let value = '';
  const unresolved: string[] = [];
  for (const p of t.parts) {
    if (p.kind === 'text') value += p.text;
    else if (p.kind === 'today') {
      assertIsoDate(today, 'today');
      value += addDays(today, p.offsetDays);
    } else {
      const v = resolve(event, p.path);
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') value += String(v);
      else unresolved.push(p.source);
    }
  }
  return { value, unresolved };
}
