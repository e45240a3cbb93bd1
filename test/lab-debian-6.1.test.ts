// The kernel lab: Debian's stock 6.1 (6.1.192) under QEMU, pku and nopku hosts.
import { labKernelSuite } from './helpers/labKernelSuite';

labKernelSuite('debian-6.1', 'linux-6.2');
