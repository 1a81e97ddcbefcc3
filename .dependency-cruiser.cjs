// Module boundaries of STYLE.md §2, checked in CI by `npm run lint`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'module-through-index',
      comment: 'A module imports another module only through its index.ts.',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/(?!index\\.ts$).+', pathNot: ['^src/modules/$1/'] },
    },
    {
      name: 'domain-no-http-or-driver',
      comment: 'Domain code never imports Fastify, a database driver or a process-level concern.',
      severity: 'error',
      from: { path: '^src/modules/', pathNot: ['routes\\.ts$', '\\.test\\.ts$', '/test-support/'] },
      to: { path: 'node_modules/(fastify|@fastify|better-sqlite3|pg|pino|commander)/' },
    },
    {
      name: 'platform-not-up',
      comment: 'The platform knows nothing of modules, server or CLI.',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/(modules|server|cli)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { pathNot: ['\\.test\\.ts$'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['source', 'import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    exclude: { path: '\\.test\\.ts$' },
  },
};
