// xsave-harness lifecycle [--drop-at RELEASE] [--depth K] [--nodes N] [--seed S] [--runs N] [--json] [--table] [--fixup PATH] [--found DIR]
// A VM's whole life (issue 15). Without --drop-at: claim L1, the patch in every PVE kernel as
// shipped; with it: claim L2, the patch dropped from RELEASE and every later release. First a
// bounded exhaustive search (lifecycle/search.ts: every sequence up to depth K over N nodes;
// the first failure found is a shortest one), then random lives beyond the bound (fast-check
// commands, properties/lifecycle.ts, with the seed). Exit 0 when no failing sequence was found
// (printed as a proof for the bound), 1 when one was: printed as a numbered story, written as
// a case file (kind "lifecycle") with the command that replays it.
// --table: the table "drop the patch here: safe / unsafe" for every release (exit as L1).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Fixup, LifecycleStory, RELEASES, RestoreRecord, releaseTitle, runStory } from '../../model';
import { contentId, writeFileAtomic } from '../../cases/files';
import { loadFixup } from '../../cases/fixupLoader';
import { lifecycleCaseJson } from '../../cases/lifecycleCase';
import { describeSeed, shellSeed } from '../../cases/seedText';
import { LIFECYCLE_CLAIMS } from '../../properties/claims';
import { checkRandomLives } from '../../properties/lifecycle';
import { SearchResult, defaultDepth, searchLifecycle } from '../../lifecycle/search';
import { dropTable } from '../../lifecycle/table';
import { EXIT, UsageError } from '../exitCodes';
import { parseSeed } from './check';

export const usage =
  'lifecycle [--drop-at RELEASE] [--depth K] [--nodes N] [--seed S] [--runs N] [--json] [--table] [--fixup PATH] [--found DIR]   a VM\'s whole life: does any sequence of operations fail (L1; L2 with the patch dropped from RELEASE on)';

function int(v: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${flag}: expected an integer in [${min}, ${max}], got "${v}"`);
  return Number(v);
}

interface Found {
  how: 'exhaustive search' | 'random lives';
  story: LifecycleStory;
  failure: RestoreRecord;
  lines: string[];
  file: string;
  replay: string;
}

function writeStory(story: LifecycleStory, failure: RestoreRecord, found: string, how: Found['how'], fixup: Fixup | undefined): Found {
  const lines = runStory(story, fixup ? { fixup } : {}).lines;
  const drop = story.dropAt ? `drop-at-${story.dropAt}` : 'as-shipped';
  const note = `${story.dropAt ? `The patch dropped from ${releaseTitle(story.dropAt)} on` : 'The patch as shipped'}: ${failure.op} at step ${failure.step} on ${failure.restoredOn.kernel}/${failure.restoredOn.host} ends ${failure.outcome}. Found by \`xsave-harness lifecycle\` (${how}); format: CASE-FORMAT lifecycle extension (docs/case-format-notes.md).`;
  const expect = { failure: true, failedAt: failure.step, outcome: failure.outcome, counted: failure.counted };
  const draft = JSON.stringify(lifecycleCaseJson(story, 'x', note, expect));
  const id = `lifecycle.${drop}.${contentId(draft)}`;
  const file = path.join(found, `${id}.json`);
  writeFileAtomic(file, JSON.stringify(lifecycleCaseJson(story, id, note, expect), null, 2) + '\n');
  return { how, story, failure, lines, file, replay: `npx xsave-harness replay ${file}` };
}

function proofLine(s: SearchResult): string {
  return `no failing sequence up to depth ${s.depth}: every sequence of at most ${s.depth} operations on a cluster of ${s.nodes} nodes (all starting on ${releaseTitle(RELEASES[0]!.id)}; hosts ${s.hosts.join(', ')}; guest CPU models ${s.cpuModels.join(', ')}) was run; ${s.states} distinct states. This is a proof for that bound and that abstraction only (docs/lifecycle.md).`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'drop-at': { type: 'string' },
      depth: { type: 'string' },
      nodes: { type: 'string', default: '2' },
      seed: { type: 'string' },
      runs: { type: 'string', default: '300' },
      json: { type: 'boolean', default: false },
      table: { type: 'boolean', default: false },
      fixup: { type: 'string' },
      found: { type: 'string', default: path.join('corpus', 'found') },
    },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`lifecycle takes no positional arguments (got ${positionals.join(' ')})`);
  const dropAt = values['drop-at'] ?? null;
  if (dropAt !== null && !RELEASES.some((r) => r.id === dropAt)) throw new UsageError(`--drop-at ${dropAt}: unknown release (known: ${RELEASES.map((r) => r.id).join(', ')})`);
  const depth = values.depth !== undefined ? int(values.depth, '--depth', 1, 30) : defaultDepth();
  const nodes = int(values.nodes, '--nodes', 1, 4);
  const runs = int(values.runs, '--runs', 0, 1_000_000);
  const seed = parseSeed(values.seed);
  const plugin = values.fixup !== undefined ? await loadFixup(values.fixup) : undefined;
  const fixupOpt = plugin ? { fixup: plugin } : {};
  const rerunBase = `npx xsave-harness lifecycle${dropAt ? ` --drop-at ${dropAt}` : ''} --depth ${depth} --nodes ${nodes}${values.fixup ? ` --fixup ${values.fixup}` : ''}`;

  if (values.table) {
    if (dropAt !== null) throw new UsageError('--table covers every release: it takes no --drop-at');
    const t = dropTable({ depth, nodes, ...fixupOpt });
    if (values.json) {
      process.stdout.write(JSON.stringify({ depth, nodes, l1: { holds: !t.l1.failure, story: t.l1Story, states: t.l1.states }, rows: t.rows.map(({ search: _s, ...r }) => r) }, null, 1) + '\n');
    } else {
      console.log(`L1 (patch as shipped): ${t.l1.failure ? 'FAILS' : `holds up to depth ${depth}`}`);
      console.log('| drop the patch at | verdict | shortest story |');
      console.log('|---|---|---|');
      for (const r of t.rows) console.log(`| ${r.title} | ${r.verdict === 'unsafe' ? `unsafe (${r.steps} steps)` : `safe up to depth ${r.depth}`} | ${r.story ? r.story.join(' ') : '—'} |`);
    }
    return t.l1.failure ? EXIT.FAILED : EXIT.OK;
  }

  const claim = dropAt ? 'L2' : 'L1';
  const search = searchLifecycle({ dropAt, depth, nodes, ...fixupOpt });
  let found: Found | null = null;
  let random: ReturnType<typeof checkRandomLives> | null = null;
  if (search.failure) found = writeStory(search.failure.story, search.failure.failure, values.found, 'exhaustive search', plugin);
  else if (runs > 0) {
    random = checkRandomLives({ dropAt, seed: seed.value, numRuns: runs, ...fixupOpt });
    if (random.failure) found = writeStory(random.failure.story, random.failure.failure, values.found, 'random lives', plugin);
  }
  const regardless = search.regardless ? runStory(search.regardless.story, fixupOpt).lines : null;
  const rerun = `${rerunBase} --seed ${shellSeed(seed.text)}`;
  if (values.json) {
    process.stdout.write(
      JSON.stringify(
        {
          claim,
          statement: LIFECYCLE_CLAIMS[claim],
          dropAt,
          depth,
          nodes,
          seed: seed.text,
          states: search.states,
          exhaustive: { failure: search.failure !== null, completeTo: search.completeTo },
          random: random ? { numRuns: random.numRuns, maxCommands: random.maxCommands, failure: random.failure !== null } : null,
          failure: found ? { how: found.how, story: found.lines, steps: found.story.steps.length, restore: found.failure, caseFile: found.file, replay: found.replay } : null,
          notCounted: regardless ? { story: regardless, why: 'a restore on a kernel without the patch as shipped (pve-5.15: its leak is UNCONFIRMED); it fails whatever is decided about the patch' } : null,
          rerun,
        },
        null,
        1,
      ) + '\n',
    );
    return found ? EXIT.FAILED : EXIT.OK;
  }
  console.log(`seed ${describeSeed(seed)}`);
  console.log(`${claim}: ${LIFECYCLE_CLAIMS[claim]}`);
  if (dropAt) console.log(`patch dropped from ${releaseTitle(dropAt)} and every later release`);
  if (found) {
    console.log(`FAILS: shortest failing sequence found by ${found.how} (${found.story.steps.length} steps):`);
    for (const l of found.lines) console.log(`  ${l}`);
    console.log(`case file: ${found.file}`);
    console.log(`replay: ${found.replay}`);
    console.log(`rerun: ${rerun}`);
    return EXIT.FAILED;
  }
  console.log(proofLine(search));
  if (random) console.log(`random lives beyond the bound: ${random.numRuns} lives of up to ${random.maxCommands} operations on 2-3 nodes, every lifecycle CPU model (seed ${seed.text}): none failed`);
  if (regardless) {
    console.log('not counted (a restore on a kernel without the patch as shipped; it fails whatever is decided about the patch, and rests on the UNCONFIRMED pve-5.15 leak):');
    for (const l of regardless) console.log(`  ${l}`);
  }
  console.log(`rerun: ${rerun}`);
  return EXIT.OK;
}
