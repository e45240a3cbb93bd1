// A fuzz worker process (forked by runner.ts): runs batches until told to stop, sends coverage
// deltas at most every PROGRESS_MS and each finding at once. SIGINT is left to the parent (a
// terminal's Ctrl-C reaches the whole process group; the parent decides when workers stop).
import { Fixup } from '../model';
import { loadFixup } from '../cases/fixupLoader';
import { addBatch, runBatch } from './batch';
import { emptyCoverage } from '../properties/coverage';
import { ParentMessage, StartMessage, WorkerMessage } from './protocol';
import { BatchSeeds } from './seeds';

const PROGRESS_MS = 200;

let stopping = false;

function send(m: WorkerMessage): void {
  if (process.send && process.connected) process.send(m);
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function work(start: StartMessage): Promise<void> {
  let fixup: Fixup;
  try {
    fixup = await loadFixup(start.fixupPath ?? undefined);
  } catch (e) {
    send({ type: 'error', worker: start.worker, message: (e as Error).message });
    process.exitCode = 2;
    process.disconnect?.();
    return;
  }
  send({ type: 'ready', worker: start.worker, fixupName: fixup.name });
  const seeds = new BatchSeeds(start.baseSeed, start.shard, start.worker, start.properties);
  let delta = emptyCoverage();
  let lastSent = Date.now();
  let batches = 0;
  while (!stopping) {
    const plan = seeds.next();
    const r = runBatch(plan.property, fixup, plan.seed, start.batchRuns);
    addBatch(delta, r);
    batches++;
    if (start.crashAfterBatches !== undefined && batches >= start.crashAfterBatches) throw new Error('test hook: worker crash requested');
    if (r.finding) {
      // Coverage first, so the parent's counts include the batch that found it.
      send({ type: 'progress', worker: start.worker, delta });
      delta = emptyCoverage();
      lastSent = Date.now();
      send({ type: 'finding', worker: start.worker, finding: r.finding });
    } else if (Date.now() - lastSent >= PROGRESS_MS) {
      send({ type: 'progress', worker: start.worker, delta });
      delta = emptyCoverage();
      lastSent = Date.now();
    }
    await tick(); // let a 'stop' message in
  }
  send({ type: 'done', worker: start.worker, delta });
  process.disconnect?.();
}

process.on('SIGINT', () => {
  /* the parent stops us */
});
process.on('disconnect', () => {
  // The parent went away: stop at the end of the batch.
  stopping = true;
});
process.on('message', (m: ParentMessage) => {
  if (m.type === 'stop') stopping = true;
  else if (m.type === 'start') {
    work(m).catch((e: unknown) => {
      const msg: WorkerMessage = { type: 'error', worker: m.worker, message: (e as Error).stack ?? String(e) };
      if (process.send && process.connected) process.send(msg, () => process.exit(2));
      else process.exit(2);
    });
  }
});
