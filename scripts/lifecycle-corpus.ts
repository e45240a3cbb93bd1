// Regenerates corpus/lifecycle/: for each release whose kernels carry the patch, the shortest
// story that fails with the patch dropped there (lifecycle/search.ts), and the same stories with
// the patch as shipped (which hold), plus the failure on pve-5.15 that does not count.
// Run after the release catalogue (model/releases.ts) changes:
//   node -r ./scripts/ts-register.js scripts/lifecycle-corpus.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../cases/files';
import { lifecycleCaseJson } from '../cases/lifecycleCase';
import { RELEASES, LifecycleStory, RestoreRecord, kernelById, releaseTitle, runStory } from '../model';
import { defaultDepth, searchLifecycle } from '../lifecycle/search';

const DIR = path.resolve(__dirname, '..', 'corpus', 'lifecycle');
const SOURCE = 'docs/lifecycle.md; rules kernel-semantics.md §3.5 (the leak) and §6 (the patch); format CASE-FORMAT lifecycle extension';

function slug(f: RestoreRecord, story: LifecycleStory): string {
  const host = story.cluster.find((n) => n.host.name === f.restoredOn.host)?.host ?? null;
  const pku = host ? ((host.xcr0 & 0x200n) !== 0n ? 'pku' : 'no-pku') : f.restoredOn.host;
  return `${f.op}-${pku}`;
}

function write(id: string, title: string, story: LifecycleStory, expect: Record<string, unknown>): void {
  const note = `${title} (${SOURCE})`;
  writeFileAtomic(path.join(DIR, `${id}.json`), JSON.stringify(lifecycleCaseJson(story, id, note, expect), null, 2) + '\n');
  console.log(`${id}: ${title}`);
}

fs.rmSync(DIR, { recursive: true, force: true });
const depth = defaultDepth();
for (const r of RELEASES) {
  if (!r.kernels.some((k) => kernelById(k.kernel)!.pvePatch !== null)) continue;
  const found = searchLifecycle({ dropAt: r.id, depth }).failure;
  if (!found) {
    console.log(`${r.id}: no failing sequence up to depth ${depth}`);
    continue;
  }
  const { story, failure } = found;
  const lines = runStory(story).lines;
  const title = `Patch dropped from ${releaseTitle(r.id)} on: ${lines[lines.length - 1]!.replace(/^\d+\. /, '')} (${story.steps.length} steps)`;
  write(`lifecycle.drop-at-${r.id}.${slug(failure, story)}`, title, story, { failure: true, failedAt: failure.step, outcome: failure.outcome, counted: true });
  write(`lifecycle.as-shipped.${r.id}-story`, `The ${releaseTitle(r.id)} story with the patch as shipped: every restore intact`, { ...story, dropAt: null }, { failure: false });
}
const regardless = searchLifecycle({ dropAt: null, depth: 3 }).regardless;
if (regardless) {
  const f = regardless.failure;
  write(
    'lifecycle.not-counted.pve-5.15-migration',
    `Within ${releaseTitle(f.restoredOn.release)}: ${f.op} to a host without PKU on ${f.restoredOn.kernel} (no patch as shipped) ends ${f.outcome}; not counted by L1/L2, rests on the UNCONFIRMED pve-5.15 leak`,
    regardless.story,
    { failure: true, failedAt: f.step, outcome: f.outcome, counted: false },
  );
}
