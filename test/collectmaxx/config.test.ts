import t from 'tap';
import { collectmaxxConfigSchema, exportRuleSchema } from '../../src/collectmaxx/core/config.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
const FP = 'SHA256:' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '');
const rule = { on: 'open_position.created', flowId: 'F100', services: ['voice'], fields: { CONTACT_PHONENUMBER_1: '{custom.phone}' } };
const sftp = { host: 'sftp.alphacomm.example', username: 'relay', privateKey: KEY, hostKeySha256: FP, uploadDir: '/in', resultsDir: '/out' };

const inbox = { inboxDir: './inbox' };

function issues(input: unknown): string[] {
  const r = collectmaxxConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

t.test('defaults', async (t) => {
  const c = collectmaxxConfigSchema.parse({ export: { clientNumber: '4711', outboxDir: './outbox', rules: [rule] }, import: { inboxDir: './inbox' }, sftp });
  t.same(c.export, {
    clientNumber: '4711', format: 'csv', outboxDir: './outbox', batch: { maxRecords: 1000, maxDelayMs: 300_000 }, defaultCountryCode: '31',
    rules: [{ ...rule, services: ['voice'] }],
  });
  t.same(c.sftp, { ...sftp, port: 22, pollIntervalMs: 300_000, deleteRemote: false });
  t.same(collectmaxxConfigSchema.parse({}), { maxResultFileBytes: 16 * 1024 * 1024 }, 'every part is optional; one size cap for result files, 16 MiB');
});

t.test('host key fingerprints are mandatory and normalised', async (t) => {
  t.match(issues({ import: inbox, sftp: { ...sftp, hostKeySha256: undefined } }), [/^sftp.hostKeySha256: /]);
  const hex = Buffer.alloc(32, 7).toString('hex');
  t.equal(collectmaxxConfigSchema.parse({ import: inbox, sftp: { ...sftp, hostKeySha256: hex } }).sftp?.hostKeySha256, FP);
  t.equal(collectmaxxConfigSchema.parse({ import: inbox, sftp: { ...sftp, hostKeySha256: `${FP.slice(7)}=` } }).sftp?.hostKeySha256, FP);
  for (const bad of ['SHA256:abc', 'MD5:aa:bb', 'ab'.repeat(31)]) t.match(issues({ import: inbox, sftp: { ...sftp, hostKeySha256: bad } }), [/SSH SHA-256 fingerprint/], bad);
});

t.test('sftp needs the import inbox (downloaded files are imported from there)', async (t) => {
  t.match(issues({ sftp }), [/^import: collectmaxx.sftp needs collectmaxx.import.inboxDir/]);
});

t.test('sftp credentials', async (t) => {
  t.same(issues({ import: inbox, sftp: { ...sftp, privateKey: undefined, password: 'pw' } }), []);
  t.same(issues({ import: inbox, sftp: { ...sftp, password: 'pw' } }), [], 'key and password together');
  t.match(issues({ import: inbox, sftp: { ...sftp, privateKey: undefined } }), [/needs privateKey or password/]);
  t.match(issues({ import: inbox, sftp: { ...sftp, privateKey: '/home/relay/.ssh/id_ed25519' } }), [/key text/]);
  t.match(issues({ import: inbox, sftp: { ...sftp, privateKey: undefined, password: 'pw', passphrase: 'x' } }), [/passphrase needs privateKey/]);
  t.match(issues({ import: inbox, sftp: { ...sftp, port: 0 } }), [/^sftp.port/]);
  t.match(issues({ import: inbox, sftp: { ...sftp, deleteRemote: 'yes' } }), [/^sftp.deleteRemote/]);
  t.match(issues({ import: inbox, sftp: { ...sftp, extra: 1 } }), [/Unrecognized key/]);
});

t.test('export settings', async (t) => {
  const ex = (e: Record<string, unknown>) => issues({ export: { clientNumber: '4711', outboxDir: './o', ...e } });
  t.same(ex({ format: 'xml' }), []);
  t.match(ex({ format: 'xlsx' }), [/^export.format/]);
  t.match(ex({ clientNumber: '47 11' }), [/file names/]);
  t.match(ex({ defaultCountryCode: '0049' }), [/calling code/]);
  t.match(ex({ batch: { maxRecords: 0 } }), [/^export.batch.maxRecords/]);
  t.match(ex({ rules: [rule, { ...rule, services: ['sms'] }] }), [/rules\[0\] already sends open_position.created to flow F100/]);
  t.same(ex({ rules: [rule, { ...rule, flowId: 'F200' }] }), [], 'another flow on the same event is fine');
});

t.test('rules are checked statically', async (t) => {
  const r = (x: Record<string, unknown>) => {
    const p = exportRuleSchema.safeParse({ ...rule, ...x });
    return p.success ? [] : p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  t.same(r({ on: ['open_position.created', 'payment.failed'], merchants: ['ShopTest'] }), []);
  t.match(r({ on: 'reminder.call_result' }), [/^on/], 'only Paygate event types: no loops on our own events');
  t.match(r({ services: [] }), [/^services/]);
  t.match(r({ services: ['fax'] }), [/^services/]);
  t.match(r({ services: ['voice', 'voice'] }), [/must not repeat/]);
  t.match(r({ flowId: 'F100-LONGER' }), [/^flowId/]);
  t.match(r({ flowId: ' F1' }), [/^flowId/]);
  t.match(r({ fields: { ...rule.fields, PERSON_SURNAME: 'x' } }), [/fields.PERSON_SURNAME: PERSON_SURNAME is not a Collectmaxx delivery column/]);
  t.match(r({ fields: { ...rule.fields, IDENTIFICATION_IDENTIFIER: '{id}' } }), [/filled by the relay/]);
  t.match(r({ fields: { ...rule.fields, CONTROL_FLOWID: 'X' } }), [/filled by the relay/]);
  t.match(r({ fields: { ...rule.fields, PERSON_FAMILYNAME: '{custom.lastname' } }), [/fields.PERSON_FAMILYNAME: unclosed/]);
  t.match(r({ fields: {} }), [/CONTACT_PHONENUMBER_x is required for voice but has no template/]);
  t.same(r({ fields: { CONTACT_PHONENUMBER_3: '{custom.mobile}' } }), [], 'any numbered column covers an _x row');
  const paylink = r({ services: ['sms', 'paylink'] });
  t.equal(paylink.length, 8, 'every PayLink column without template is named');
  t.match(paylink.join('\n'), /INVOICE_DUEDATE is required for paylink/);
  t.same(r({ services: ['enrichment'], fields: {
    PERSON_FAMILYNAME: 'a', PERSON_GIVENNAME: 'b', PERSON_BIRTHDAY: 'c', ADDRESS_STREET: 'd', ADDRESS_HOUSENUMBER: 'e',
    ADDRESS_EXTENSION: 'f', ADDRESS_ZIPCODE: 'g', ADDRESS_CITY: 'h', ADDRESS_COUNTRY: 'i',
  } }), [], 'SERVICES_ENRICHMENT is set by the relay');
});
