// Lets plain `node` run the TypeScript sources without a build: `node -r ./scripts/ts-register.js
// cli/main.ts ...`. Used by `npm run review` (so the review never comes from a stale dist/) and by
// the tests that start the CLI in a child process (the fuzz workers it forks inherit execArgv).
// Transpile only (no type check: tsc and ts-jest do that), cached by content in the temp folder.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

let ts = null;
const cacheDir = path.join(os.tmpdir(), `xsave-harness-ts-cache-${process.getuid ? process.getuid() : 'u'}`);
try {
  fs.mkdirSync(cacheDir, { recursive: true });
} catch {
  /* no cache then */
}

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha1').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let code = null;
  try {
    code = fs.readFileSync(cached, 'utf8');
  } catch {
    ts = ts || require('typescript');
    code = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        resolveJsonModule: true,
        inlineSourceMap: true,
      },
    }).outputText;
    try {
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, code);
      fs.renameSync(tmp, cached);
    } catch {
      /* cache is best effort */
    }
  }
  module._compile(code, filename);
};
