// Messages after an action, from a fixed table: the query string only picks one and fills in
// values that are checked (known endpoint ids, numbers), so a crafted link cannot make one up.

import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';

export type Flash = { text: string; bad?: boolean } | null;

/** What a page's query string may carry for its message (besides its own filters). */
export const flashQuery = z.object({
  msg: z.string().optional(), ep: z.string().optional(), busy: z.string().optional(), reason: z.string().optional(),
  n: z.string().optional(), a: z.string().optional(), d: z.string().optional(), s: z.string().optional(), k: z.string().optional(),
});
export type FlashQuery = z.output<typeof flashQuery>;

const count = (v: string | undefined): number => {
  const n = Number.parseInt(v ?? '', 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
};

export function flashFrom(query: FlashQuery, endpointIds: readonly string[], isDisabled: (id: string) => boolean): Flash {
  const known = (v: string | undefined) => (v ?? '').split(',').filter((e) => endpointIds.includes(e));
  switch (query.msg) {
    case 'redelivered': {
      const ep = known(query.ep);
      const busy = known(query.busy);
      if (ep.length === 0 && busy.length === 0) return { text: 'Nothing to redeliver.', bad: true };
      return { text: [ep.length ? `Redelivery scheduled for ${ep.join(', ')}.` : '', busy.length ? `Still in flight, not reset: ${busy.join(', ')}.` : ''].join(' ').trim() };
    }
    case 'reprocessed':
      return { text: 'Reprocessed: the callback verified and this event was stored.' };
    case 'reprocessed-duplicate':
      return { text: 'Reprocessed: the callback verified; it repeats this event, which was already stored.' };
    case 'reprocessed-conflict':
      return { text: 'Reprocessed: the callback verified but conflicts with this event (same signed identity, other content); see Conflicts.', bad: true };
    case 'still': {
      const reason = query.reason ?? '';
      const entry = (ERROR_CODES as Record<string, { message: string }>)[reason];
      return { text: `Still quarantined${entry ? `: ${reason} (${entry.message})` : ''}.`, bad: true };
    }
    case 'bulk': {
      const skipped = count(query.k);
      return {
        text: `Reprocessed ${count(query.n)}: ${count(query.a)} accepted, ${count(query.d)} duplicates, ${count(query.s)} still quarantined.`
          + (skipped ? ` Skipped ${skipped} quarantined for a reason no fix can change.` : ''),
      };
    }
    case 'dlq':
      return { text: `${count(query.n)} dead letter${count(query.n) === 1 ? '' : 's'} scheduled again.` };
    case 'enabled':
    case 'disabled': {
      const [ep] = known(query.ep);
      return ep ? { text: `Endpoint ${ep} ${query.msg}.` } : null;
    }
    case 'test-sent': {
      const [ep] = known(query.ep);
      if (!ep) return null;
      return isDisabled(ep)
        ? { text: `Test event queued for ${ep}, which is disabled: it goes out when the endpoint is enabled.`, bad: true }
        : { text: `Test event sent to ${ep}: its attempts appear below.` };
    }
    default:
      return null;
  }
}
