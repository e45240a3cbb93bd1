/**
 * /init of a lab VM (busybox sh): mount the pseudo file systems, load the modules in the order
 * the builder wrote, find the virtio port named "xsave" (wired to QEMU's stdio on the host),
 * and run the executor on it (or, with xslab.raw=N on the kernel command line, the raw C loop
 * of bench/lab.ts for N cases; xslab.raw=N:reuse for its one-vCPU variant). Lines for the host start with "XSLAB". When the executor ends
 * (the host closed the port, or it crashed) the VM reboots, which with -no-reboot ends QEMU.
 */
export const GUEST_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "XSLAB boot $(uname -r)"
for m in $(cat /modules.order); do
  insmod /lib/mod/$m.ko || echo "XSLAB insmod-failed $m"
done
port=
for p in /sys/class/virtio-ports/*; do
  [ "$(cat $p/name 2>/dev/null)" = xsave ] && port=/dev/\${p##*/}
done
[ -e /dev/kvm ] || echo "XSLAB no-kvm"
if [ -z "$port" ]; then
  echo "XSLAB fatal no virtio port named xsave"
else
  raw=
  for w in $(cat /proc/cmdline); do
    case $w in xslab.raw=*) raw=\${w#xslab.raw=} ;; esac
  done
  echo "XSLAB ready $port"
  if [ -n "$raw" ]; then
    /xsave-raw-bench \${raw%%:*} \${raw#*:} 0<>$port 1>&0
  else
    /xsave-exec 0<>$port 1>&0
  fi
  echo "XSLAB executor-exit $?"
fi
dmesg | grep -iE 'kvm|pkru|xsave|xfeature' | tail -n 20
reboot -f
`;
