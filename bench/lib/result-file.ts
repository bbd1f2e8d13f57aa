// A Collectmaxx daily result file of a given size for the import-stall
// scenario, made the way the relay's tests make theirs (test/collectmaxx):
// semicolon-separated, every cell quoted, an SMS + PayLink result per row.
// Identifiers are the relay's own (buildIdentifier), so every row verifies
// and becomes two events (reminder.sms_result, paylink.paid), as a real file
// answering our own export would.
import { buildIdentifier } from '../../src/collectmaxx/core/identifier.js';
import { MERCHANT } from './harness.js';

const HEADER = ['IDENTIFICATION_IDENTIFIER', 'SMSRESULTS_SMS_1_NUMBER', 'SMSRESULTS_SMS_1_RESULT', 'SMSRESULTS_SMS_1_TIME', 'SMSRESULTS_PAYLINK_1_RESULT', 'SMSRESULTS_PAYLINK_1_TIME'];
const line = (cells: string[]) => `${cells.map((c) => `"${c}"`).join(';')}\n`;

export interface ResultFile {
  name: string;
  body: Buffer;
  rows: number;
}

/** As many rows as fit in `bytes` (the admin API takes files up to 16 MiB: ask for that and the file is just under it). */
export function resultFile(bytes: number): ResultFile {
  const parts = [line(HEADER)];
  let size = parts[0]!.length;
  let rows = 0;
  for (;;) {
    const n = String(rows).padStart(8, '0');
    const identifier = buildIdentifier({ merchantId: MERCHANT.id, transId: `IMP-${n}`, eventId: `evt_01JH00000000000000${n}`, flowId: 'F100' });
    const row = line([identifier, `4917012${n}`, '1', '2026-01-14T09:00:05+00:00', 'paid', '2026-01-14T10:00:00+00:00']);
    if (size + row.length > bytes) break;
    parts.push(row);
    size += row.length;
    rows++;
  }
  return { name: 'result_20260114-acos1001.csv', body: Buffer.from(parts.join(''), 'utf8'), rows };
}
