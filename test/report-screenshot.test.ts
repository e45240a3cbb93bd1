// Render the committed review.html in headless Chromium (scripts/screenshot-review.sh) and check
// that a real PNG of the requested size comes out. Skipped, with the reason in its name, when
// no Chromium is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts', 'screenshot-review.sh');

function findChromium(): string | null {
  for (const c of [process.env['CHROMIUM'], 'chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']) {
    if (!c) continue;
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

const chromium = findChromium();
if (!chromium) process.stderr.write('test/report-screenshot.test.ts: skipped: no chromium installed (apt-get install -y chromium)\n');
const t = chromium ? test : test.skip;
const name = chromium ? 'review.html renders in headless Chromium to a 1280×2400 PNG' : 'review.html renders in headless Chromium (skipped: no chromium installed; apt-get install -y chromium)';

t(name, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-shot-'));
  try {
    const png = path.join(dir, 'review.png');
    const out = execFileSync(SCRIPT, [path.join(ROOT, 'reports', 'review.html'), png, '1280x2400'], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
    expect(out.trim()).toBe(png);
    const buf = fs.readFileSync(png);
    expect(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(buf.readUInt32BE(16)).toBe(1280); // IHDR width
    expect(buf.readUInt32BE(20)).toBe(2400); // IHDR height
    // A blank page compresses to almost nothing; the review has tables and charts.
    expect(buf.length).toBeGreaterThan(50000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120000);
