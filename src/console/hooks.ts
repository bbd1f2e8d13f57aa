// What the console shares with pages registered from elsewhere (a feature's):
// the session guards, the page context, rendering and the audit log.
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { Html } from './jsx-runtime.js';
import type { PageCtx } from './ui.js';

export interface ConsoleHooks {
  /** Logged-in viewer or operator (GET pages). */
  readonly viewer: RouteShorthandOptions;
  /** Operator only, CSRF token checked (POST actions). */
  readonly operator: RouteShorthandOptions;
  ctxOf(req: FastifyRequest, timings?: Record<string, number>): PageCtx;
  html(reply: FastifyReply, page: Html, status?: number): unknown;
  audit(req: FastifyRequest, action: string, detail: Record<string, unknown>): void;
  now(): number;
}
