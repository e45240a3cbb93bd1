// xsave-harness calibrate [--json]
// Probe the running kernel through /dev/kvm and say which kernel variant and host `this` is
// (kvm/calibration.ts). Exit 0 an exact match (catalogue or derived), 1 no variant reproduces
// every probe, 2 infrastructure failure, 4 no usable /dev/kvm.
import { parseArgs } from 'node:util';
import { describeCalibration } from '../../kvm/calibration';
import { openKvm } from '../../kvm/session';
import { EXIT } from '../exitCodes';

export const usage = 'calibrate [--json]   detect the running kernel\'s variant and host (real KVM)';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
  const session = await openKvm();
  if (!session.ok) {
    console.error(`xsave-harness calibrate: ${session.noKvm ? 'real KVM is not available' : 'real-KVM backend failed'}: ${session.reason}`);
    return session.noKvm ? EXIT.NO_KVM : EXIT.UNUSABLE;
  }
  const { exec, cal } = session;
  try {
    if (values.json) {
      const { table, kernel, host, ...rest } = cal;
      const out = {
        ...rest,
        supportedCpuidEntries: table.length,
        kernel: { ...kernel, kvmSupportedXcr0: '0x' + kernel.kvmSupportedXcr0.toString(16) },
        host: { ...host, xcr0: '0x' + host.xcr0.toString(16), mxcsrMask: '0x' + host.mxcsrMask.toString(16) },
      };
      console.log(JSON.stringify(out, null, 2));
    } else {
      console.log(describeCalibration(cal));
    }
    return cal.exact ? EXIT.OK : EXIT.FAILED;
  } finally {
    await exec.close();
  }
}
