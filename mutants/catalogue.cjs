'use strict';
// How a generated plug-in (mutants/NAME.js) reaches the one broken-fixup catalogue,
// properties/brokenFixups.ts: the TypeScript source when a .ts loader is active (the CLI run
// with `node -r ./scripts/ts-register.js`, jest), the build otherwise (`npx xsave-harness` after
// `npm run build`, which runs dist/). A .cjs file, so that the catalogue's loaders (mutants/*.js)
// do not take it for a mutant.
const path = require('path');

function catalogue() {
  let source = null;
  try {
    source = require.resolve('../properties/brokenFixups');
  } catch {
    source = null; // no .ts loader: use the build
  }
  if (source && !source.endsWith('.js')) return require(source);
  const built = path.join(__dirname, '..', 'dist', 'properties', 'brokenFixups.js');
  try {
    return require(built);
  } catch (e) {
    throw new Error(`the mutant plug-ins load properties/brokenFixups.ts: run them with \`node -r ./scripts/ts-register.js\`, or build first (npm run build; ${built}: ${e.message})`);
  }
}

/** The exports of mutants/NAME.js: the catalogue entry NAME as a plug-in. */
exports.plugin = (name) => catalogue().mutantPlugin(name);
