#!/bin/bash
# Copy Debian's qemu-system-x86_64 (7.2, package qemu-system-x86) and all it
# needs to run with -accel kvm -nodefaults -display none into STAGE, every file
# at the path it has on this machine (so STAGE can be added to an initramfs as
# it is): the binary, each shared library `ldd` names (symlinks resolved), the
# dynamic loader, the TCG accelerator module and the firmware (SeaBIOS and the
# option ROMs for -kernel). Idempotent: running it again rewrites the same files.
#
# usage: qemu-closure.sh STAGE
# exit: 0 done, 2 something missing on this machine, 3 usage
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 STAGE" >&2
	exit 3
fi
stage=$1
qemu=/usr/bin/qemu-system-x86_64
moddir=/usr/lib/x86_64-linux-gnu/qemu
files=(
	"$qemu"
	"$moddir/accel-tcg-x86_64.so"
	/usr/share/seabios/bios-256k.bin
	/usr/share/seabios/bios.bin
	/usr/share/qemu/kvmvapic.bin
	/usr/share/qemu/linuxboot.bin
	/usr/share/qemu/linuxboot_dma.bin
	/usr/share/qemu/multiboot.bin
	/usr/share/qemu/multiboot_dma.bin
	/usr/share/qemu/pvh.bin
)

for f in "${files[@]}"; do
	if [ ! -e "$f" ]; then
		echo "qemu-closure: missing $f (apt-get install qemu-system-x86)" >&2
		exit 2
	fi
done
version=$("$qemu" --version | head -n1)
case $version in
*" 7.2."*) ;;
*) echo "qemu-closure: warning: expected QEMU 7.2, found: $version" >&2 ;;
esac

# Shared libraries of the binary and of the module, and the loader: ldd prints
# "name => /path (addr)" or "/path (addr)" for the loader.
ldd_out=$(for f in "$qemu" "$moddir/accel-tcg-x86_64.so"; do ldd "$f"; done)
if grep -q 'not found' <<<"$ldd_out"; then
	echo "qemu-closure: ldd reports a missing library:" >&2
	grep 'not found' <<<"$ldd_out" >&2
	exit 2
fi
libs=$(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out" | sort -u)

count=0
for f in "${files[@]}" $libs; do
	mkdir -p "$stage$(dirname "$f")"
	cp -L --remove-destination "$f" "$stage$f"
	count=$((count + 1))
done
size=$(du -sh "$stage" | cut -f1)
echo "qemu-closure: $count files copied into $stage ($size): $version"
