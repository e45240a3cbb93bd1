// The kernel lab: Debian's stock 6.12 (6.12.118) under QEMU, pku and nopku hosts.
import { labKernelSuite } from './helpers/labKernelSuite';

labKernelSuite('debian-6.12', 'linux-6.2');
