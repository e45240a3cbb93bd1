// The layer rule of this repository (docs/architecture.md), checked by dependency-cruiser:
// `npm run lint:layers`, and by jest (test/layers.test.ts, which also runs these rules on a
// fixture tree that breaks each of them, so a rule that stops biting is noticed).
//
// Layers, bottom to top; a folder imports only from its own layer and the layers below:
//   model/ → cases/ → properties/ → engines (fuzz/ proof/ mutants/ kvm/ lab/ lifecycle/) → report/ → cli/
// Engines do not import one another, except lab/ → kvm/ (the lab reuses the executor driver).
// bench/, test/ and scripts/ stand above everything and may import anything; nothing imports
// them. Tests (*.test.ts) may import anything; cycles are forbidden everywhere.
'use strict';

const ENGINES = ['fuzz', 'proof', 'mutants', 'kvm', 'lab', 'lifecycle'];
/** Each layer with the folders that stand above it. */
const LAYERS = [
  { name: 'model', above: ['cases', 'properties', ...ENGINES, 'report', 'cli'] },
  { name: 'cases', above: ['properties', ...ENGINES, 'report', 'cli'] },
  { name: 'properties', above: [...ENGINES, 'report', 'cli'] },
  { name: 'report', above: ['cli'] },
];
const TOPS = ['bench', 'test', 'scripts'];
const TESTS = '\\.test\\.[jt]s$';
const folders = (names) => `^(${names.join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Files that import each other in a loop (directly or through others).',
      from: {},
      to: { circular: true },
    },
    ...LAYERS.map((l) => ({
      name: `layer-${l.name}`,
      severity: 'error',
      comment: `${l.name}/ imports only from itself and the layers below it (docs/architecture.md).`,
      from: { path: `^${l.name}/`, pathNot: TESTS },
      to: { path: folders(l.above) },
    })),
    ...ENGINES.map((e) => ({
      name: `layer-engine-${e}`,
      severity: 'error',
      comment: `The engines do not import one another (only lab/ may use kvm/), nor report/ or cli/.`,
      from: { path: `^${e}/`, pathNot: TESTS },
      to: { path: folders([...ENGINES.filter((x) => x !== e && !(e === 'lab' && x === 'kvm')), 'report', 'cli']) },
    })),
    {
      name: 'report-renders-only',
      severity: 'error',
      comment: 'report/ turns a report document into text: it may name the engines\' types, but runs none of their code (the CLI collects what they produce: cli/review/, cli/fuzzReport.ts).',
      from: { path: '^report/', pathNot: TESTS },
      to: { path: folders(ENGINES), dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'renderers-print-documents',
      severity: 'error',
      comment: 'report/markdown.ts and report/html.ts print a report document (report/document.ts) and know the format only: what a report says is built once, in report/reviewDocument.ts (issue 12: the sections used to be written twice).',
      from: { path: '^report/(markdown|html)\\.ts$' },
      // type-only imports name what the convenience wrappers take (renderMarkdown(report))
      to: { pathNot: '^report/(document|reviewDocument)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that names no file (a path left behind by a move) is reported here, not only by tsc.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-import-of-tops',
      severity: 'error',
      comment: 'bench/, test/ and scripts/ are entry points: no layer imports them.',
      from: { path: folders(['model', 'cases', 'properties', ...ENGINES, 'report', 'cli']), pathNot: TESTS },
      to: { path: folders(TOPS) },
    },
    {
      name: 'no-test-helpers-in-code',
      severity: 'error',
      comment: 'Code does not import test helpers (kvm/testkit.ts) or test files.',
      from: { pathNot: `${TESTS}|^test/|^bench/|(^|/)testkit\\.ts$` },
      to: { path: `(^|/)testkit\\.ts$|${TESTS}` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|executor|reports|corpus|docs|test/fixtures)/|^\\.stryker-tmp' },
    // Type-only imports count: a type that runs upward ties the layers as much as a value does.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
