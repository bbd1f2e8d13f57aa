// OpenTelemetry traces, built after the fact from what the relay already reports
// on its hub (src/observe.ts): the intake and delivery code paths carry no tracing
// calls, and without `tracing` in the config this module is never even loaded.
//
// One trace per event, across processes: its trace id and the intake span's id
// are derived from the event id, so a delivery attempt made by another instance
// (PostgreSQL) still joins the trace of the callback that created the event,
// with nothing stored. Each attempt is a client span whose id is sent to the
// receiver in W3C `traceparent`, so the receiver's own spans hang below it.
import { createHash, randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, diag, trace, type Attributes, type DiagLogger } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type IdGenerator } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { Hub, RelayEventMap, TraceIds } from './observe.js';

export type TracingConfig = NonNullable<Config['tracing']>;

const hex = (seed: string, bytes: number) => createHash('sha256').update(seed).digest('hex').slice(0, bytes * 2);
/** The trace of an event (and of the callback that made it). */
export const traceIdOf = (eventId: string): string => hex(`paygate-relay trace ${eventId}`, 16);
/** The intake span of the callback that made an event: the parent of its delivery attempts. */
export const intakeSpanIdOf = (eventId: string): string => hex(`paygate-relay intake ${eventId}`, 8);

/**
 * The SDK asks its IdGenerator for ids inside startSpan (synchronously); a span
 * whose ids were decided earlier (sent in traceparent, derived from the event)
 * queues them here first.
 */
class ChosenIds implements IdGenerator {
  next: { traceId?: string; spanId?: string } = {};
  generateTraceId(): string {
    const id = this.next.traceId ?? randomBytes(16).toString('hex');
    this.next.traceId = undefined;
    return id;
  }
  generateSpanId(): string {
    const id = this.next.spanId ?? randomBytes(8).toString('hex');
    this.next.spanId = undefined;
    return id;
  }
}

export class Tracing {
  private readonly ids = new ChosenIds();
  private readonly provider: TracerProvider;
  private readonly tracer;
  private unsubscribe: (() => void)[] = [];

  constructor(
    config: TracingConfig,
    private readonly version: string,
    logger: Logger,
  ) {
    // The SDK reports export failures through its global diag logger: send them to ours.
    const log: DiagLogger = {
      error: (msg) => logger.warn({ detail: msg }, 'tracing: export failed'),
      warn: (msg) => logger.warn({ detail: msg }, 'tracing'),
      info: () => {}, debug: () => {}, verbose: () => {},
    };
    diag.setLogger(log);
    const exporter = new OTLPTraceExporter({ url: config.otlp.url, headers: config.otlp.headers, timeoutMillis: config.otlp.timeoutMs });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': version }),
      idGenerator: this.ids,
      spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: config.exportIntervalMs })],
    });
    this.tracer = this.provider.getTracer('paygate-relay', version);
  }

  /** Ids for a delivery attempt about to be sent: its own span id under the event's intake span. */
  attemptIds(eventId: string): TraceIds {
    return { traceId: traceIdOf(eventId), spanId: randomBytes(8).toString('hex'), parentSpanId: intakeSpanIdOf(eventId) };
  }

  observe(hub: Hub): void {
    this.unsubscribe.push(hub.on('callback', (e) => this.intake(e)), hub.on('attempt', (e) => this.attempt(e)));
  }

  private span(name: string, opts: { kind: SpanKind; start: number; end: number; attributes: Attributes; error?: string }, ids: { traceId?: string; spanId?: string }, parent?: { traceId: string; spanId: string }) {
    this.ids.next = ids;
    const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, { ...parent, traceFlags: TraceFlags.SAMPLED, isRemote: true }) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(name, { kind: opts.kind, startTime: opts.start, attributes: opts.attributes, root: !parent }, ctx);
    this.ids.next = {};
    if (opts.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: opts.error });
    span.end(opts.end);
    return span.spanContext();
  }

  /** A callback: the request span, with decode and commit beneath it. */
  private intake(e: RelayEventMap['callback']): void {
    const decodeMs = e.decodeMs ?? 0;
    const commitMs = e.commitMs ?? 0;
    const startedAt = e.startedAt ?? Date.now() - e.durationMs;
    const end = startedAt + Math.max(e.durationMs, decodeMs + commitMs);
    const ids = e.eventId ? { traceId: traceIdOf(e.eventId), spanId: intakeSpanIdOf(e.eventId) } : {};
    const attributes: Attributes = {
      'paygate.channel': e.channel, 'paygate.result': e.result,
      ...(e.merchantId ? { 'paygate.merchant_id': e.merchantId } : {}),
      ...(e.reason ? { 'paygate.reason': e.reason } : {}),
      ...(e.eventId ? { 'event.id': e.eventId, 'event.type': e.eventType ?? '' } : {}),
      'callback.id': e.callbackId,
    };
    const root = this.span('paygate.callback', { kind: SpanKind.SERVER, start: startedAt, end, attributes, error: e.result === 'quarantined' ? e.reason : undefined }, ids);
    const commitStart = end - commitMs;
    this.span('paygate.decode', { kind: SpanKind.INTERNAL, start: commitStart - decodeMs, end: commitStart, attributes: {}, error: e.result === 'quarantined' ? e.reason : undefined }, {}, root);
    this.span('storage.commit', { kind: SpanKind.INTERNAL, start: commitStart, end, attributes: {} }, {}, root);
  }

  /** A delivery attempt, with the span id the receiver got in traceparent. */
  private attempt(e: RelayEventMap['attempt']): void {
    if (!e.trace) return;
    const attributes: Attributes = {
      'webhook.endpoint': e.endpointId, 'webhook.event_id': e.eventId, 'webhook.attempt': e.attempt, 'webhook.result': e.result,
      'http.request.method': 'POST',
      ...(e.statusCode !== null ? { 'http.response.status_code': e.statusCode } : {}),
      ...(e.errorClass ? { 'error.type': e.errorClass } : {}),
    };
    this.span('webhook.deliver', {
      kind: SpanKind.CLIENT, start: e.startedAt, end: e.startedAt + e.durationMs, attributes,
      error: e.result === 'succeeded' ? undefined : (e.errorClass ?? e.result),
    }, { spanId: e.trace.spanId }, { traceId: e.trace.traceId, spanId: e.trace.parentSpanId });
  }

  /** Export what is buffered, then stop. */
  async shutdown(): Promise<void> {
    this.unsubscribe.forEach((u) => u());
    this.unsubscribe = [];
    await this.provider.shutdown();
  }
}
