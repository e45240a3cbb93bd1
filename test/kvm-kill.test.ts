// kill -9 of the executor in the middle of a kvm-check run: the chunk in flight is reported as
// an infrastructure error (not as a disagreement), the executor is restarted, the lost chunk is
// run again and the run continues; the results of the chunks finished before the kill are kept
// (not rerun). A chunk that fails every retry is reported as lost, not as agreement.
import { MachineCalibration } from '../kvm/calibration';
import { runConformance } from '../kvm/conformance';
import { XsaveExecutor } from '../kvm/executor';
import { generateCases } from '../kvm/generate';
import { kvmTestAvailability } from '../kvm/testkit';
import { withCalibratedExecutor } from './calibratedExecutor';

const avail = kvmTestAvailability('test/kvm-kill');
const describeKvm = avail.ok ? describe : describe.skip;

describeKvm('kvm-check survives kill -9 of the executor', () => {
  let ex: XsaveExecutor;
  let cal: MachineCalibration;
  withCalibratedExecutor(async (e, c) => {
    ex = e;
    cal = c;
  }, 20_000);

  it('reports an infrastructure error, restarts, keeps earlier results and finishes every case', async () => {
    const machine = { kernel: cal.kernel, host: cal.host };
    const cases = generateCases({ machine, table: cal.table, size: cal.size }, 1500, 9);
    const pid = ex.pid;
    const restarts = ex.restarts;
    const progress: number[] = [];
    let killed = false;
    const r = await runConformance(ex, machine, cases, {
      chunkSize: 150,
      onChunk: (done) => {
        progress.push(done);
        if (!killed && done >= 600) {
          killed = true;
          ex.kill('SIGKILL'); // the next chunk is already in flight (pipelined)
        }
      },
    });
    expect(killed).toBe(true);
    expect(r.infra.length).toBe(1);
    expect(r.infra[0]).toMatchObject({ kind: 'died', recovered: true });
    expect(r.infra[0]!.message).toMatch(/SIGKILL/);
    expect(r.infra[0]!.firstCase).toBe(600);
    expect(ex.restarts).toBe(restarts + 1);
    expect(ex.pid).not.toBe(pid);
    // Earlier chunks were not rerun: progress went 150 … 600, then on from 600 after the restart.
    expect(progress.slice(0, 4)).toEqual([150, 300, 450, 600]);
    expect(progress[4]).toBe(750);
    expect(progress[progress.length - 1]).toBe(1500);
    // Every case has a real result and agrees: nothing was lost or counted twice.
    expect(r.outcomes).toHaveLength(1500);
    expect(r.outcomes.filter((o) => o.status !== 'agree').map((o) => o.index)).toEqual([]);
  }, 25_000);

  it('a chunk that keeps failing is reported as lost, and the run goes on after it', async () => {
    const machine = { kernel: cal.kernel, host: cal.host };
    const cases = generateCases({ machine, table: cal.table, size: cal.size }, 400, 10);
    let kills = 0;
    let timer: NodeJS.Timeout | undefined;
    const r = await runConformance(ex, machine, cases, {
      chunkSize: 100,
      retries: 1,
      onChunk: (done) => {
        // Kill while the chunk starting at 200 is in flight, then kill the restarted executor
        // as soon as it appears (it is running the retry of that chunk).
        if (done === 200 && kills === 0) {
          const first = ex.pid;
          kills++;
          ex.kill('SIGKILL');
          timer = setInterval(() => {
            if (ex.pid !== undefined && ex.pid !== first) {
              clearInterval(timer);
              kills++;
              ex.kill('SIGKILL');
            }
          }, 1);
        }
      },
    });
    clearInterval(timer);
    expect(kills).toBe(2);
    expect(r.infra.map((e) => [e.firstCase, e.recovered, !!e.lost])).toEqual([
      [200, false, false],
      [200, false, true],
    ]);
    const lost = r.outcomes.filter((o) => o.status === 'infra').map((o) => o.index);
    expect(lost).toEqual(Array.from({ length: 100 }, (_, i) => 200 + i));
    expect(r.outcomes.filter((o) => o.status === 'agree')).toHaveLength(300);
  }, 25_000);
});
