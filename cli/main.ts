#!/usr/bin/env node
// xsave-harness: one module per command in cli/commands; this table is the only place that
// lists them.
import { CaseError } from '../cases/caseFormat';
import { FixupLoadError } from '../cases/fixupLoader';
import { EXIT, UsageError } from './exitCodes';

interface Command {
  usage: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Command> = {
  replay: () => require('./commands/replay') as Command,
  eval: () => require('./commands/eval') as Command,
  check: () => require('./commands/check') as Command,
  'kvm-check': () => require('./commands/kvm-check') as Command,
  lab: () => require('./commands/lab') as Command,
  calibrate: () => require('./commands/calibrate') as Command,
  fuzz: () => require('./commands/fuzz') as Command,
  matrix: () => require('./commands/matrix') as Command,
  'merge-reports': () => require('./commands/merge-reports') as Command,
  review: () => require('./commands/review') as Command,
  mutants: () => require('./commands/mutants') as Command,
  prove: () => require('./commands/prove') as Command,
  'mutation-merge': () => require('./commands/mutation-merge') as Command,
  lifecycle: () => require('./commands/lifecycle') as Command,
};

function help(): string {
  const lines = Object.values(COMMANDS).map((c) => `  xsave-harness ${c().usage}`);
  return ['usage:', ...lines, '', 'exit codes: 0 ok, 1 failed/finding, 2 unusable input or infrastructure error, 3 usage, 4 no KVM'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? EXIT.OK : EXIT.USAGE;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`xsave-harness: unknown command "${name}"\n${help()}`);
    return EXIT.USAGE;
  }
  try {
    return await load().run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`xsave-harness ${name}: ${(e as Error).message}`);
      return EXIT.USAGE;
    }
    if (e instanceof CaseError || e instanceof FixupLoadError) {
      console.error(`xsave-harness ${name}: ${(e as Error).message}`);
      return EXIT.UNUSABLE;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      console.error(`xsave-harness ${name}: ${(e as Error).message}`);
      return EXIT.UNUSABLE;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // The command is done. If something still holds the event loop (once seen: `review`
      // idled ~10 minutes after writing its files on a loaded machine, most likely z3's worker
      // threads), leave anyway; the timer itself does not keep the process alive.
      setTimeout(() => {
        console.error(`xsave-harness ${process.argv[2] ?? ''}: finished, but the process did not exit by itself within 10 s; exiting`);
        process.exit(code);
      }, 10_000).unref();
    },
    (e) => {
      console.error(`xsave-harness: internal error: ${(e as Error).stack ?? e}`);
      process.exitCode = EXIT.UNUSABLE;
    },
  );
}
