// The plug-ins mutants/NAME.js are generated from the one broken-fixup catalogue
// (properties/brokenFixups.ts) by scripts/gen-mutant-plugins.ts (issue 12): the committed files
// must be as generated, and each must load the catalogue's entry, not a copy of it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadFixup } from '../cases/fixupLoader';
import { BROKEN_FIXUPS, mutantPlugin } from '../properties/brokenFixups';
import { loadMutants, mutantsDir } from '../mutants/killMatrix';
import { expectedPlugins, pluginDrift, pluginText, writePlugins } from '../scripts/gen-mutant-plugins';

const DIR = mutantsDir();

test('the committed plug-ins are exactly what the catalogue generates (regenerate: node -r ./scripts/ts-register.js scripts/gen-mutant-plugins.ts)', () => {
  expect(pluginDrift(DIR)).toEqual({ stale: [], extra: [] });
  expect([...expectedPlugins().keys()].sort()).toEqual(BROKEN_FIXUPS.map((f) => `${f.name}.js`).sort());
});

test('each plug-in, loaded as --fixup loads it, is the catalogue entry itself, with its metadata', async () => {
  const files = await loadMutants(DIR);
  expect(files.map((m) => m.name).sort()).toEqual(BROKEN_FIXUPS.map((f) => f.name).sort());
  for (const f of BROKEN_FIXUPS) {
    const loaded = await loadFixup(path.join(DIR, `${f.name}.js`));
    expect(loaded.fn).toBe(f.fn);
    const m = files.find((x) => x.name === f.name)!;
    expect([m.description, m.expectedKiller, m.equivalent]).toEqual([f.description, f.expectedKiller, f.equivalent]);
  }
});

describe('negative controls: drift is found', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mutant-plugins-'));
    for (const f of fs.readdirSync(DIR)) fs.copyFileSync(path.join(DIR, f), path.join(tmp, f));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('a hand-edited plug-in, a missing one and one the catalogue does not have are reported; writePlugins repairs them', () => {
    fs.writeFileSync(path.join(tmp, 'mask-0x300.js'), pluginText('mask-0x300').replace("'mask-0x300'", "'mask-0x100'"));
    fs.rmSync(path.join(tmp, 'toggle-pkru.js'));
    fs.writeFileSync(path.join(tmp, 'hand-written.js'), "exports.fixup = () => {};\n");
    expect(pluginDrift(tmp)).toEqual({ stale: ['mask-0x300.js', 'toggle-pkru.js'], extra: ['hand-written.js'] });
    writePlugins(tmp);
    expect(pluginDrift(tmp)).toEqual({ stale: [], extra: [] });
  });

  test('a plug-in naming an entry the catalogue does not have fails, naming the file and the catalogue', () => {
    expect(pluginText('gone')).toContain("plugin('gone')");
    expect(() => mutantPlugin('gone')).toThrow(/mutants\/gone\.js: no entry 'gone' in properties\/brokenFixups\.ts/);
  });

  test('a copied plug-in away from the repository says where the catalogue is', async () => {
    await expect(loadFixup(path.join(tmp, 'mask-0x300.js'))).rejects.toThrow(/mask-0x300\.js: cannot load fixup module: the mutant plug-ins load properties\/brokenFixups\.ts/);
  });
});
