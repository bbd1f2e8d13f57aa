// Event + rule → one delivery record, validated. This is the whole export
// decision for one event, kept pure so the exporter around it only has to
// store, batch and write: an ok record goes to the next file, a rejected one
// is stored with its reasons (never dropped).

import type { ExportRule } from './config.js';
import { buildIdentifier } from './identifier.js';
import { matrixColumns } from './spec.js';
import { parseTemplate, renderTemplate, type TemplateEvent } from './template.js';
import { validateRecord, type DeliveryRecord, type RejectReason } from './validate.js';

/** What the export needs of a stored event; a Paygate event envelope fits. */
export interface SourceEvent extends TemplateEvent {
  readonly id: string;
  readonly type: string;
  readonly merchantId: string;
  readonly data: { readonly transId: string };
}

/** Rules whose `on` and `merchants` match the event, in config order. */
export function matchingRules<R extends Pick<ExportRule, 'on' | 'merchants'>>(
  event: { readonly type: string; readonly merchantId: string },
  rules: readonly R[],
): R[] {
  return rules.filter((r) => {
    const types: readonly string[] = Array.isArray(r.on) ? r.on : [r.on];
    return types.includes(event.type) && (!r.merchants || r.merchants.includes(event.merchantId));
  });
}

export interface BuildContext {
  /** The caller's calendar day, YYYY-MM-DD: DUEDATE checks and `{today+N}`. */
  readonly today: string;
  readonly defaultCountryCode: string;
}

export interface Unresolved {
  readonly field: string;
  readonly placeholder: string;
}

export type DeliveryBuild =
  | { readonly ok: true; readonly identifier: string; readonly record: DeliveryRecord; readonly unresolved: readonly Unresolved[] }
  | {
      readonly ok: false; readonly identifier: string; readonly record: DeliveryRecord;
      readonly reasons: readonly RejectReason[]; readonly unresolved: readonly Unresolved[];
    };

export function buildDeliveryRecord(event: SourceEvent, rule: Pick<ExportRule, 'flowId' | 'services' | 'fields'>, ctx: BuildContext): DeliveryBuild {
  const identifier = buildIdentifier({ merchantId: event.merchantId, transId: event.data.transId, eventId: event.id, flowId: rule.flowId });
  const raw: Record<string, string> = {};
  const unresolved: Unresolved[] = [];
  for (const [field, source] of Object.entries(rule.fields)) {
    const r = renderTemplate(parseTemplate(source), event, ctx.today);
    raw[field] = r.value;
    for (const placeholder of r.unresolved) unresolved.push({ field, placeholder });
  }
  if (rule.services.includes('enrichment') && !raw.SERVICES_ENRICHMENT) raw.SERVICES_ENRICHMENT = '1';
  raw.IDENTIFICATION_IDENTIFIER = identifier;
  raw.CONTROL_FLOWID = rule.flowId;
  const v = validateRecord(raw, { services: rule.services, today: ctx.today, defaultCountryCode: ctx.defaultCountryCode });
  if (v.ok) return { ok: true, identifier, record: v.record, unresolved };
  // A missing required value is usually a placeholder the event did not have: say which.
  const reasons = v.reasons.map((r) => {
    if (r.code !== 'required') return r;
    const columns = matrixColumns(r.field);
    const cols = columns.length > 0 ? columns : [r.field];
    const missing = unresolved.filter((u) => cols.includes(u.field)).map((u) => u.placeholder);
    return missing.length ? { ...r, message: `${r.message} (no value for ${[...new Set(missing)].join(', ')})` } : r;
  });
  return { ok: false, identifier, record: v.record, reasons, unresolved };
}
