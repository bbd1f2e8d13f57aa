import pino, { type Logger } from 'pino';
import type { Hub } from './observe.js';

/**
 * Paths that may carry secrets or raw callback material. Our own log calls
 * never pass them; redaction is the second line of defence should a future
 * call site pass a whole request, config or callback object.
 */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'Data', '*.Data', 'data', 'MAC', '*.MAC', 'mac', '*.mac', 'Len',
  'body', '*.body', 'payload', '*.payload',
  'hmac', '*.hmac', '*.*.hmac', 'blowfish', '*.blowfish', '*.*.blowfish', 'aes', '*.aes', '*.*.aes',
  'keys', '*.keys', 'secret', '*.secret', 'token', '*.token', 'tokens', '*.tokens',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'paygate-relay' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** One line per callback and per delivery attempt: ids and outcomes, never payloads. */
export function logObservations(hub: Hub, log: Logger): void {
  hub.on('callback', (e) => {
    const line = {
      callbackId: e.callbackId, channel: e.channel, result: e.result, reason: e.reason, merchant: e.merchantId, claimedMerchant: e.claimedMerchantId,
      operation: e.operation, outcome: e.outcome, eventId: e.eventId, eventType: e.eventType, keySlot: e.keySlot, durationMs: e.durationMs,
    };
    if (e.result === 'quarantined') log.warn(line, 'callback quarantined');
    else log.info(line, 'callback stored');
  });
  hub.on('conflict', (e) => log.error(
    { merchant: e.merchantId, firstEventId: e.firstEventId, conflictEventId: e.conflictEventId, fields: e.fields },
    'callback conflicts with a stored event of the same signed identity: one of them was tampered with',
  ));
  hub.on('attempt', (e) => {
    const line = { endpoint: e.endpointId, eventId: e.eventId, attempt: e.attempt, status: e.statusCode, errorClass: e.errorClass, durationMs: e.durationMs, result: e.result,
      nextAttemptAt: e.nextAttemptAt ? new Date(e.nextAttemptAt).toISOString() : undefined };
    if (e.result === 'succeeded') log.info(line, 'delivery succeeded');
    else if (e.result === 'dead') log.error(line, 'delivery dead-lettered');
    else log.warn(line, 'delivery attempt failed');
  });
  hub.on('endpoint:disabled', (e) => log.error({ endpoint: e.endpointId, reason: e.reason }, 'endpoint disabled'));
  hub.on('endpoint:enabled', (e) => log.info({ endpoint: e.endpointId }, 'endpoint enabled'));
  // The record is the erasures table; the log says that one happened, never the identifier or the reason.
  hub.on('erasure', (e) => (e.purged ? log.info : log.warn).call(log, { erasure: e.seq, actor: e.actor, rows: e.rows, purged: e.purged },
    e.purged ? 'erasure recorded' : 'erasure recorded; the database files still hold old page versions until the next checkpoint or VACUUM'));
}
