// Layering rules, checked by dependency-cruiser in `npm test` (test/layering.test.ts).
// Paths are relative to the repository root. Type-only imports count for the
// layering rules, not for cycles: they cost nothing at run time, and a module may
// name the types of the layer that uses it (a route plugin takes the Relay's type).

/** Feature folders under src/: each is reached from the core only through src/features.ts. A new feature adds its folder here. */
const FEATURES = ['collectmaxx'];
const feature = `^src/(${FEATURES.join('|')})/`;

/** Modules that touch the outside world: files, sockets, HTTP, threads, processes, databases, web frameworks. */
const IO = [
  '^(node:)?(fs|fs/promises|net|http|https|http2|tls|dgram|dns|dns/promises|child_process|cluster|worker_threads|readline)$',
  '^(fastify|@fastify/.*|pg|better-sqlite3|undici|ssh2|ssh2-sftp-client|pino)$',
];

module.exports = {
  forbidden: [
    {
      name: 'paygate-is-pure',
      comment: 'src/paygate/ (and a feature\'s core/, e.g. src/collectmaxx/core/) takes values and returns values: no I/O, no storage, no HTTP framework.',
      severity: 'error',
      from: { path: ['^src/paygate/', '^src/[^/]+/core/'] },
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'unknown'], path: IO },
    },
    {
      name: 'paygate-reaches-no-layer-above',
      comment: 'src/paygate/ may use src/errors.ts and itself only (the store, delivery, routes build on it, not the other way round).',
      severity: 'error',
      from: { path: '^src/paygate/' },
      to: { path: '^src/', pathNot: ['^src/paygate/', '^src/errors\\.ts$'] },
    },
    {
      name: 'store-imports-no-feature',
      comment: 'Storage adapters know no feature: features bring their tables through the store extension point (src/store/extension.ts).',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: [feature, '^src/features?\\.ts$'] },
    },
    {
      name: 'features-only-through-the-registry',
      comment: 'The core reaches a feature only through the module interface: src/features.ts is the one file outside a feature that imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: [feature, '^src/features\\.ts$'] },
      to: { path: feature },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles at run time.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
  },
};
