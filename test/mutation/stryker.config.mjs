// StrykerJS over the pure core and the outbox lease statements. One run per
// group (MUTATE_GROUP): each group names the modules it mutates and the test
// files about them, so a mutant only ever runs tests about its module; per-file
// coverage narrows that further to the files that execute the mutant.
// Run through `npm run mutate` (test/mutation/run.ts), which runs every group.
import { readFileSync } from 'node:fs';

/** `file:start-end` for the lines from the first line matching `from` up to (not including) the first matching `to` after it. */
function lines(file, from, to) {
  const text = readFileSync(file, 'utf8').split('\n');
  const start = from ? text.findIndex((l) => from.test(l)) : 0;
  const end = to ? text.findIndex((l, i) => i > start && to.test(l)) : text.length;
  if (start < 0 || end < 0) throw new Error(`${file}: cannot find the range to mutate (${from} … ${to}); update test/mutation/stryker.config.mjs`);
  return `${file}:${start + 1}-${end}`;
}

// Endpoint bookkeeping follows the lease statements in both outbox files.
const ENDPOINTS = /^\/\/ -+ endpoints/;

// Module → the test files about it, fastest first (a mutant stops at the first file that kills it).
const P = (f) => `test/paygate/${f}.test.ts`;
const INTAKE = ['test/intake-identity.test.ts', 'test/intake.test.ts'];
export const GROUPS = {
  crypto: {
    mutate: ['src/paygate/aes.ts', 'src/paygate/blowfish.ts', 'src/paygate/hex.ts', 'src/paygate/mac.ts'],
    tests: [P('vectors'), P('oracle'), P('decode')],
  },
  decode: { mutate: ['src/paygate/decode.ts'], tests: [P('decode'), P('fuzz'), P('oracle'), ...INTAKE] },
  fields: { mutate: ['src/paygate/fields.ts'], tests: [P('fields'), P('decode')] },
  form: { mutate: ['src/paygate/form.ts'], tests: [P('form'), P('decode')] },
  plaintext: { mutate: ['src/paygate/plaintext.ts'], tests: [P('plaintext'), P('decode')] },
  merchant: { mutate: ['src/paygate/merchant.ts'], tests: [P('merchant'), P('decode'), P('oracle')] },
  'code-operation': { mutate: ['src/paygate/code.ts', 'src/paygate/operation.ts'], tests: [P('code-operation'), ...INTAKE] },
  delivery: {
    mutate: ['src/delivery/retry.ts', 'src/delivery/sign.ts'],
    tests: ['test/delivery/retry.test.ts', 'test/delivery/sign.test.ts', 'test/delivery/jitter.test.ts'],
  },
  // Dedupe identity, fingerprints and classification only: the Intake class around them is I/O.
  intake: {
    mutate: () => ['src/events/identity.ts', lines('src/intake.ts', /^export function dedupeKey/, /^export class Intake/)],
    tests: [...INTAKE, 'test/attacks.test.ts'],
  },
  outbox: {
    mutate: () => [lines('src/store/sqlite-outbox.ts', null, ENDPOINTS), lines('src/store/postgres-outbox.ts', null, ENDPOINTS)],
    tests: ['test/store/contract.test.ts'],
  },
};

const name = process.env.MUTATE_GROUP ?? 'delivery';
const group = GROUPS[name];
if (!group) throw new Error(`MUTATE_GROUP=${name}: unknown group (one of ${Object.keys(GROUPS).join(', ')})`);

export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  // The same loaders as npm test: tsx, also inside worker threads (the SQLite writer).
  tap: { testFiles: group.tests, nodeArgs: ['--import', 'tsx', '--import', './test/helpers/tsx-workers.mjs'], forceBail: true },
  mutate: typeof group.mutate === 'function' ? group.mutate() : group.mutate,
  coverageAnalysis: 'perTest',
  // The CI box and a developer laptop alike: two runners. PostgreSQL tests use a fresh schema each.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
  // Only what the tests need goes into the sandbox.
  ignorePatterns: ['/*', '!/src', '!/test', '!/package.json', '!/tsconfig.json'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  incremental: process.env.MUTATE_INCREMENTAL === '1',
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  thresholds: { high: 95, low: 90, break: null },
};
