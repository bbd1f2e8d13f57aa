// What every console page group shares: the services it may use, rendering, the page
// context, the audit log line and the message table. Made once per console by index.tsx
// and handed to each page group plugin.

import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AdminServices } from '../admin/queries.js';
import { RelayError } from '../errors.js';
import { describeIssues } from '../routes/schemas.js';
import { VERSION, type RunningFeature } from '../relay.js';
import { CLIENT_JS } from './assets/client.js';
import { ICON_SVG } from './assets/icon.js';
import { STYLE_CSS } from './assets/style.js';
import { flashFrom, type Flash, type FlashQuery } from './flash.js';
import { parseUtcInput } from './format.js';
import { documentHtml, type Html } from './jsx-runtime.js';
import { ErrorPage } from './pages/login.js';
import type { PageCtx } from './ui.js';

export const CONSOLE_PREFIX = '/console';
export const PAGE_SIZE = 50;

/** What the console may use. */
export interface ConsoleServices {
  admin: AdminServices;
  merchantIds: readonly string[];
  logger: Logger;
  /** The configured features: their pages join the console (FeatureModule.console). */
  features: readonly RunningFeature[];
}

interface Asset {
  body: string;
  type: string;
  url: string;
}

function asset(name: string, body: string, type: string): Asset {
  const v = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { body, type, url: `${CONSOLE_PREFIX}/assets/${name}?v=${v}` };
}

export const ASSETS: Record<string, Asset> = {
  'console.css': asset('console.css', STYLE_CSS, 'text/css; charset=utf-8'),
  'console.js': asset('console.js', CLIENT_JS, 'text/javascript; charset=utf-8'),
  'icon.svg': asset('icon.svg', ICON_SVG, 'image/svg+xml'),
};
export const ASSET_URLS: PageCtx['assets'] = { css: ASSETS['console.css']!.url, js: ASSETS['console.js']!.url, icon: ASSETS['icon.svg']!.url };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the console auth guard: the role and this page's CSRF token for its forms. */
    consolePage?: PageCtx['session'];
    consoleStart?: number;
  }
}

export function pageKit(services: ConsoleServices) {
  const { admin, logger } = services;
  const endpointIds = () => admin.endpoints.map((e) => e.id);
  const featureNav = services.features.flatMap((f) => (f.module.console ? [f.module.console.nav] : []));
  const html = (reply: FastifyReply, page: Html, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(documentHtml(page));
  return {
    services,
    endpointIds,
    html,
    errorPage: (reply: FastifyReply, status: number, title: string, detail?: string, back?: string) =>
      html(reply, <ErrorPage assets={ASSET_URLS} status={status} title={title} detail={detail} back={back} />, status),
    ctxOf: (req: FastifyRequest, timings: Record<string, number> = {}): PageCtx => ({
      session: req.consolePage!, now: admin.now(), startedAt: req.consoleStart ?? performance.now(), version: VERSION, assets: ASSET_URLS, timings,
      nav: featureNav,
    }),
    audit: (req: FastifyRequest, action: string, detail: Record<string, unknown>) =>
      logger.info({ console: true, action, role: req.consolePage?.role, session: req.consolePage?.id, ip: req.ip, ...detail }, 'console action'),
    flash: (query: FlashQuery): Flash => flashFrom(query, endpointIds(), (id) => admin.dispatcher.isDisabled(id)),
    /** A filter the schema refuses (bad glob, bad time) or a cursor the store cannot read shows on the page, not as an error page. */
    async orBadFilter<T>(fn: () => Promise<T>, empty: T): Promise<{ value: T; error: { text: string; bad: true } | null }> {
      try {
        return { value: await fn(), error: null };
      } catch (err) {
        if (err instanceof RelayError && err.code === 'bad_request') return { value: empty, error: { text: `Filter not applied: ${err.detail ?? err.message}`, bad: true } };
        throw err;
      }
    },
  };
}

export type PageKit = ReturnType<typeof pageKit>;

/**
 * Form times are UTC, as the page says (format.ts parseUtcInput); they reach the filter schema as
 * epoch milliseconds. One the console cannot read unambiguously is a 400 naming the format.
 */
export function withUtc<T extends { since?: string; until?: string }>(f: T): T {
  const at = (key: 'since' | 'until'): string | undefined => {
    const v = f[key];
    if (v === undefined || v.trim() === '') return undefined;
    const ms = parseUtcInput(v);
    if (ms === null) throw new RelayError('bad_request', `${key} must be a UTC time as YYYY-MM-DDTHH:MM[:SS]Z, e.g. 2026-01-31T10:00Z`);
    return String(ms);
  };
  return { ...f, since: at('since'), until: at('until') };
}

/** The filters a page was asked for, as typed (for the form), without empty ones. */
export function pick<K extends string>(query: Partial<Record<string, string | undefined>>, keys: readonly K[]): Partial<Record<K, string>> {
  return Object.fromEntries(keys.map((k) => [k, query[k]]).filter(([, v]) => v !== undefined && v !== '')) as Partial<Record<K, string>>;
}

/** A page's filters through the API's own schema: what it refuses is a 400 `bad_request` with the reason. */
export function parseFilter<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new RelayError('bad_request', describeIssues(r.error.issues));
  return r.data;
}

/** Page query fields: the filters as typed plus the message parameters. */
export const textFields = <K extends string>(keys: readonly K[]) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.string().optional()])) as Record<K, z.ZodOptional<z.ZodString>>);

/** Every console form carries its CSRF token (checked by the auth guard before the schema). */
export const form = <K extends string>(keys: readonly K[]) => textFields(keys).extend({ _csrf: z.string() });
