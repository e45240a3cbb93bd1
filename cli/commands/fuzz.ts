// xsave-harness fuzz [--seed S] [--seconds N] [--workers K] [--fixup PATH] [--backend model|kvm]
//                    [--shard I/N] [--out DIR] [--found DIR] [--max-findings N] [--only P1,..]
// Time-budgeted fuzzing of P1-P5 on all cores. Exit 0 no finding, 1 a finding, 2 a worker or
// other infrastructure failure, 3 usage, 4 the kvm backend is not available, 130 interrupted.
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BATCH_RUNS } from '../../fuzz/batch';
import { runFuzz } from '../../fuzz/runner';
import { writeFuzzReport } from '../fuzzReport';
import { SeedError, ShardError, dateSeed, describeDateSeed, describeSeed, parseSeedText, parseShard } from '../../fuzz/seeds';
import { PROPERTY_IDS } from '../../properties/claims';
import { PropertyId } from '../../properties/properties';
import { EXIT, UsageError } from '../exitCodes';

export const usage =
  'fuzz [--seed S] [--seconds N] [--workers K] [--fixup PATH] [--backend model|kvm] [--shard I/N] [--out DIR] [--found DIR] [--max-findings N] [--only P1,..]   time-budgeted fuzzing on all cores';

function positiveInt(name: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name}: expected a positive integer, got "${v}"`);
  return Number(v);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      seconds: { type: 'string', default: '60' },
      workers: { type: 'string' },
      fixup: { type: 'string' },
      backend: { type: 'string', default: 'model' },
      shard: { type: 'string' },
      out: { type: 'string' },
      found: { type: 'string', default: path.join('corpus', 'found') },
      'max-findings': { type: 'string', default: '1' },
      'batch-runs': { type: 'string', default: String(DEFAULT_BATCH_RUNS) },
      only: { type: 'string' },
      progress: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`fuzz takes no positional arguments (got ${positionals.join(' ')})`);
  if (values.backend === 'kvm') {
    console.error(
      'xsave-harness fuzz --backend kvm: the real-KVM conformance backend is not available in this build (the fuzzer is not wired to a kvm/ conformance runner yet); nothing was run. Use --backend model.',
    );
    return EXIT.NO_KVM;
  }
  if (values.backend !== 'model') throw new UsageError(`--backend: expected model or kvm, got "${values.backend}"`);

  let seed: number;
  let seedSource: 'date' | 'option';
  // --seed: an integer or any string (seedrandom's semantics; cases/seedText.ts parseSeedText)
  let seedText: string | undefined;
  let seedLine: string;
  if (values.seed === undefined) {
    seed = dateSeed();
    seedSource = 'date';
    seedLine = `${seed} (UTC date ${describeDateSeed(seed)})`;
  } else {
    let spec;
    try {
      spec = parseSeedText(values.seed);
    } catch (e) {
      if (e instanceof SeedError) throw new UsageError(e.message);
      throw e;
    }
    seed = spec.value;
    seedSource = 'option';
    if (spec.derived) seedText = spec.text;
    seedLine = describeSeed(spec);
  }
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--seconds: expected a positive number, got "${values.seconds}"`);
  const workers = values.workers === undefined ? Math.max(1, os.availableParallelism?.() ?? os.cpus().length) : positiveInt('workers', values.workers);
  let shard = null;
  if (values.shard !== undefined) {
    try {
      shard = parseShard(values.shard);
    } catch (e) {
      if (e instanceof ShardError) throw new UsageError(e.message);
      throw e;
    }
  }
  const properties = (values.only ? values.only.split(',') : [...PROPERTY_IDS]) as PropertyId[];
  for (const id of properties) if (!PROPERTY_IDS.includes(id)) throw new UsageError(`--only: unknown property "${id}" (P1-P5)`);
  const progress = values.progress ?? (process.stdout.isTTY ? 'tty' : 'plain');
  if (progress !== 'tty' && progress !== 'plain') throw new UsageError(`--progress: expected tty or plain, got "${progress}"`);
  const dirSeed = seedText !== undefined && /^[A-Za-z0-9._-]+$/.test(seedText) ? seedText : String(seed);
  const outDir = values.out ?? path.join('reports', 'out', shard && shard.count > 1 ? `${dirSeed}-shard-${shard.index}-of-${shard.count}` : dirSeed);
  const crash = process.env['XSAVE_HARNESS_TEST_CRASH_AFTER'];

  // The seed first, so that a run can be repeated from its log.
  console.log(`seed ${seedLine}`);
  console.log(
    `fuzz: ${workers} worker${workers > 1 ? 's' : ''}, ${seconds} s, fixup ${values.fixup ?? 'pve (built-in)'}, properties ${properties.join(',')}${shard ? `, shard ${shard.index}/${shard.count}` : ''}; cases to ${values.found}, report to ${outDir}`,
  );
  const result = await runFuzz(
    {
      seed,
      seedSource,
      ...(seedText !== undefined ? { seedText } : {}),
      seconds,
      workers,
      fixupPath: values.fixup ?? null,
      shard,
      outDir,
      foundDir: values.found,
      maxFindings: positiveInt('max-findings', values['max-findings']),
      batchRuns: positiveInt('batch-runs', values['batch-runs']),
      properties,
      progress,
      progressMs: seconds <= 120 ? 10000 : 60000,
      stallSeconds: 120,
      checkpointMs: 60000,
      ...(crash ? { crashAfterBatches: Number(crash) } : {}),
    },
    {
      out: (l) => console.log(l),
      err: (l) => console.error(l),
      raw: (t) => process.stdout.write(t),
      ...(process.stdout.columns ? { columns: process.stdout.columns } : {}),
    },
    writeFuzzReport,
  );
  return result.exitCode;
}
