#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copyright (c) the xsave-harness authors
#
# verify-kernel.sh -- boot one lab kernel under QEMU TCG with an initramfs holding
# busybox-static, the KVM modules and the static probe (lab/probe/probe.c), and
# print the probe's "XSP ..." lines plus the kernel's PKRU notices ("XSP dmesg ...").
# A check tool for the kernel artefacts; the TypeScript lab driver does the real runs.
#
# Usage:
#   verify-kernel.sh --kernel VMLINUZ --busybox BUSYBOX --probe PROBE --cpu CPU
#                    [--module KO ...] [--timeout SECONDS] [--log FILE]
#   --module  insmod'ed in the order given (.ko or .ko.xz; .xz is unpacked here);
#             none for a kernel with KVM built in
#   --cpu     QEMU -cpu value: max (host with PKU) or max,-pku
# Exit status: 0 the probe finished ("XSP done" seen); 1 it did not (log kept); 2 usage.
set -euo pipefail
prog=${0##*/}
die() { echo "$prog: error: $1" >&2; exit "${2:-1}"; }
kernel= busybox= probe= cpu= timeout_s=240 log=
mods=()
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) kernel=${2:?}; shift 2 ;;
    --busybox) busybox=${2:?}; shift 2 ;;
    --probe) probe=${2:?}; shift 2 ;;
    --cpu) cpu=${2:?}; shift 2 ;;
    --module) mods+=("${2:?}"); shift 2 ;;
    --timeout) timeout_s=${2:?}; shift 2 ;;
    --log) log=${2:?}; shift 2 ;;
    *) die "unknown argument $1" 2 ;;
  esac
done
[ -f "$kernel" ] && [ -x "$busybox" ] && [ -x "$probe" ] && [ -n "$cpu" ] || die "need --kernel, --busybox, --probe, --cpu" 2
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)" 2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,mod}
cp "$busybox" "$root/bin/busybox"
cp "$probe" "$root/bin/probe"
i=0; order=
for m in ${mods[@]+"${mods[@]}"}; do
  i=$((i + 1)); dst=$root/mod/$i.ko
  case $m in *.xz) xz -dc "$m" >"$dst" ;; *) cp "$m" "$dst" ;; esac
  order="$order /mod/$i.ko"
done
cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in $order; do /bin/busybox insmod \$m || echo "XSP insmod-failed \$m"; done
/bin/busybox uname -r | /bin/busybox sed 's/^/XSP uname /'
/bin/probe
echo "xsp: init after probe" > /dev/kmsg || echo "XSP kmsg-write-failed"
/bin/busybox ls -l /dev/kmsg | /bin/busybox sed "s/^/XSP /"
/bin/busybox dmesg | /bin/busybox grep -iE 'pkru|kvm|taint|module verification|xsp|x86/fpu' | /bin/busybox grep -v debugfs | /bin/busybox sed 's/^/XSP dmesg /'
/bin/busybox dmesg | /bin/busybox tail -n 6 | /bin/busybox sed "s/^/XSP dmesgtail /"
echo "XSP end"
/bin/busybox reboot -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initrd.gz"
out=${log:-$tmp/serial.log}
# timeout bounds QEMU; -no-reboot makes the guest's reboot end QEMU.
set +e
timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu "$cpu" -m 1024 -smp 1 \
  -nographic -no-reboot -nodefaults -serial stdio -kernel "$kernel" -initrd "$tmp/initrd.gz" \
  -append 'console=ttyS0 quiet panic=-1' </dev/null >"$out" 2>&1
qrc=$?
set -e
tr -d '\r' <"$out" | grep -a -o 'XSP .*' || true
grep -aq 'XSP done' "$out" || { echo "$prog: probe did not finish (qemu rc=$qrc, log $out)" >&2; [ -n "$log" ] || cp "$out" /tmp/verify-kernel.failed.log; exit 1; }
