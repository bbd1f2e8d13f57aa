// Erasure of a Collectmaxx delivery record (docs/erasure.md): what accounting and the
// matching of result files need stays (the identifier, flow and service switches, invoice
// numbers, dates and amounts, contract and mandate ids); every other column — the person,
// the address, the contact details, free descriptions — reads ERASED.

/** The same marker as the relay's erased event fields. */
export const ERASED = '[erased]';

const KEEP = /^(IDENTIFICATION_IDENTIFIER|CONTROL_[A-Z_]+|SERVICES_[A-Z_]+|INVOICE_(NUMBER|DATE|DUEDATE|CURRENCY|AMOUNT|TAX|REFERENCE|SERIAL|REMAINING)|INVOICE_ARRANGEMENT_(TOTALTERMS|TERM|STARTDATE|DUEDATE|CURRENCY|AMOUNT|REMAINING)|CONTRACT_(IDENTIFIER|TYPE|STARTDATE|ENDDATE)|EMANDATE_(IDENTIFIER|PURCHASEID|VISIBLEUNTIL))$/;

/** The record with every column outside the keep-list erased; null when nothing is left to erase. */
export function eraseRecord(record: Readonly<Record<string, string>>): Record<string, string> | null {
  let changed = false;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) {
    const keep = KEEP.test(k) || v === '' || v === ERASED;
    out[k] = keep ? v : ERASED;
    if (!keep) changed = true;
  }
  return changed ? out : null;
}
