/**
 * The house's floors, checked by `npm run check:imports` (part of `npm test`): the runtime in
 * shared/ imports nothing from a higher floor, and no files import each other in a circle.
 * docs/ARCHITECTURE.md draws the floors.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files that import each other in a circle: move what both need into a third module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-is-the-runtime',
      severity: 'error',
      comment:
        'shared/ is what the Lambdas and the inference server execute: it imports nothing from the functions, the server and build code, infra, the CLI and ops tools, the bench, the local harness or the tests.',
      from: { path: '^shared/' },
      to: { path: '^(functions|model-artifacts|infra|cli|ops|bench|local|test)/' },
    },
    {
      name: 'contracts-at-the-bottom',
      severity: 'error',
      comment:
        'shared/contracts is what infra and the runtime share: it must not pull the runtime into the CDK app.',
      from: { path: '^shared/contracts/' },
      to: { path: '^shared/', pathNot: '^shared/(contracts|domain|retry|ingest/limits\\.ts)' },
    },
    {
      name: 'functions-are-thin',
      severity: 'error',
      comment:
        'A handler wires runtime modules and the model pack it is built with; it imports no harness, tool or build code.',
      from: { path: '^functions/' },
      to: { path: '^(model-artifacts|infra|cli|ops|bench|local|test)/', pathNot: '^model-artifacts/models/' },
    },
    {
      name: 'infra-builds-not-runs',
      severity: 'error',
      comment:
        'The CDK app reads contracts from the runtime (and the media limits its timeouts are sized by), never the runtime itself.',
      from: { path: '^infra/' },
      to: { path: '^(shared/(?!contracts/|ingest/limits\\.ts)|functions/|cli/|ops/|bench/|local/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
