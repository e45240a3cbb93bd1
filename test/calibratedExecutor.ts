// Shared set-up of the real-KVM suites: one executor, the running kernel calibrated with it,
// `this` restored and the executor closed afterwards. `ready` does the suite's own set-up.
import { getThisMachine, setThisMachine } from '../cases/resolve';
import { MachineCalibration, calibrateMachine } from '../kvm/calibration';
import { XsaveExecutor } from '../kvm/executor';

export function withCalibratedExecutor(ready: (ex: XsaveExecutor, cal: MachineCalibration) => void | Promise<void>, timeoutMs = 20_000): void {
  const saved = getThisMachine();
  let ex: XsaveExecutor | undefined;
  beforeAll(async () => {
    ex = new XsaveExecutor();
    await ready(ex, await calibrateMachine(ex));
  }, timeoutMs);
  afterAll(async () => {
    setThisMachine(saved);
    await ex?.close();
  });
}
