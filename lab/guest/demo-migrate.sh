#!/bin/bash
# By-hand end-to-end prototype of issue 16: real QEMU 7.2 as the VMM inside
# the lab VM. Two outer boots under TCG, one at a time:
#   source: SRC kernel, -cpu SRC_CPU: inner QEMU runs the lab guest,
#           savevm xsg1 (qcow2 disk), then migrate "exec:..." onto a raw disk;
#   target: DST kernel, -cpu DST_CPU: inner QEMU -incoming from that disk,
#           observe; then inner QEMU -loadvm xsg1, observe.
# What the outer /init does and prints: init-outer.sh. Summary lines:
#   RESULT phase=migrate-in|loadvm outcome=intact|no-progress|corrupt|restarted
#          lines=N first_round=A round_at_save=B bad=K vcpu_pct=X vm_status=S
#          kvmclock_at_save_ms=C kvmclock_first_ms=D kvmclock_last_ms=E leak=0|1
#
# usage: demo-migrate.sh [--src-kernel VMLINUZ --src-modules DIR]
#                        [--dst-kernel VMLINUZ --dst-modules DIR]
#                        [--src-cpu max] [--dst-cpu max,-pku]
#                        [--guest hlt|busy] [--observe SECONDS]
#                        [--work DIR] [--timeout SECONDS]
#                        [--simulate-leak] [--reuse-source] [--strace]
#   --simulate-leak: before the target boot, set the PKRU bit (9) of
#     env.xstate_bv in the migration stream and in the snapshot (leak-pkru.py),
#     as a leaky source kernel would have saved it.
#   --strace: run the inner QEMU under strace and print its failed ioctls
#     (slows the guest: every exit to QEMU is a traced ioctl).
#   --reuse-source: skip the source boot, take the stream and snapshot that an
#     earlier run left in the work dir (one source, several targets).
#   DIR is a kernel's lib/modules/VERSION (may be empty: KVM built in), or
#   several separated by ':' searched in order (e.g. rebuilt kvm modules first,
#   then the stock tree for the rest).
#   Defaults: Debian's 6.1.0-57 (source) and 6.12.118 (target), unpacked from
#   their packages (apt-get download into the work dir if not in the lab cache).
# exit: 0 both outcomes intact · 1 a run ended with another outcome ·
#       2 infrastructure (build, boot, KVM, a bound hit before the role ended) · 3 usage
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=/tmp/xsave-lab-qemu
debcache=/root/.cache/xsave-harness/lab/debs
src_kernel= src_modules= dst_kernel= dst_modules=
src_cpu=max dst_cpu=max,-pku guest=hlt observe=5 limit=300
leak=0 reuse=0 strace=0

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 3; }
while [ $# -gt 0 ]; do
	case $1 in
	--src-kernel) src_kernel=$2; shift 2 ;;
	--src-modules) src_modules=$2; shift 2 ;;
	--dst-kernel) dst_kernel=$2; shift 2 ;;
	--dst-modules) dst_modules=$2; shift 2 ;;
	--src-cpu) src_cpu=$2; shift 2 ;;
	--dst-cpu) dst_cpu=$2; shift 2 ;;
	--guest) guest=$2; shift 2 ;;
	--observe) observe=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--timeout) limit=$2; shift 2 ;;
	--simulate-leak) leak=1; shift ;;
	--reuse-source) reuse=1; shift ;;
	--strace) strace=1; shift ;;
	*) usage ;;
	esac
done
case $guest in hlt | busy) ;; *) usage ;; esac

infra() { echo "demo-migrate: $*" >&2; exit 2; }
log() { echo "demo-migrate: $(date +%T) $*" >&2; }
mkdir -p "$work"

# ---- kernels -----------------------------------------------------------------
debian_kernel() { # debian_kernel PACKAGE: unpack it, print "VMLINUZ MODULEDIR"
	local pkg=$1 deb dir
	deb=$(ls "$debcache/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		mkdir -p "$work/debs"
		(cd "$work/debs" && apt-get download "$pkg" >/dev/null) || infra "apt-get download $pkg failed"
		deb=$(ls "$work/debs/${pkg}"_*.deb | head -n1)
	fi
	dir=$work/kernels/$(basename "$deb" .deb)
	if [ ! -d "$dir/boot" ]; then
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
		dpkg -x "$deb" "$dir.tmp" && mv "$dir.tmp" "$dir"
	fi
	echo "$(ls "$dir"/boot/vmlinuz-*) $(ls -d "$dir"/lib/modules/*)"
}
if [ -z "$src_kernel" ]; then
	read -r src_kernel src_modules < <(debian_kernel linux-image-6.1.0-57-amd64-unsigned)
fi
if [ -z "$dst_kernel" ]; then
	read -r dst_kernel dst_modules < <(debian_kernel linux-image-6.12.118+deb12-amd64-unsigned)
fi
[ -f "$src_kernel" ] || infra "no kernel image $src_kernel"
[ -f "$dst_kernel" ] || infra "no kernel image $dst_kernel"

# ---- initramfs: a common part and one module part per kernel ------------------
make -s -C "$here" OUT="$work/guest-build" >/dev/null || infra "guest build failed"
base=$work/base.cpio.gz
build_base() {
	local root=$work/base-root bb
	rm -rf "$root" && mkdir -p "$root"/{bin,guest,dev}
	bb=$(command -v busybox) || infra "busybox missing (apt-get install busybox-static)"
	file -L "$bb" | grep -q 'statically linked' || infra "$bb is not static (apt-get install busybox-static)"
	cp "$bb" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	"$here/qemu-closure.sh" "$root" >&2 || infra "qemu-closure failed"
	if [ "$strace" = 1 ]; then # strace and its libraries, at their paths
		local f
		for f in /usr/bin/strace $(ldd /usr/bin/strace | awk '$3 ~ /^\// { print $3 }'); do
			mkdir -p "$root$(dirname "$f")" && cp -L "$f" "$root$f"
		done
	fi
	cp "$work/guest-build/xsave-guest.elf" "$root/guest/"
	cp "$here/init-outer.sh" "$root/init"
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$base.tmp"
	mv "$base.tmp" "$base"
}
log "building the common initramfs"
build_base

wanted=(irqbypass ccp kvm kvm-amd virtio_ring virtio virtio_pci_legacy_dev
	virtio_pci_modern_dev virtio_pci virtio_blk)
modpart() { # modpart MODULEDIR OUT: modules + their dependencies, in order
	local mdir=$1 out=$2 root
	root=$(mktemp -d "$work/mods.XXXX")
	mkdir -p "$root/modules"
	declare -A seen=()
	order=()
	visit() {
		local name=${1//-/_} file dep
		[ -n "${seen[$name]:-}" ] && return
		seen[$name]=1
		file=
		local d
		for d in ${mdir//:/ }; do # the first directory that has it wins
			[ -d "$d" ] || continue
			file=$(find "$d" -regextype posix-extended \
				-regex ".*/(${name}|${name//_/-})\.ko(\.xz|\.zst|\.gz)?" | head -n1)
			[ -z "$file" ] || break
		done
		[ -n "$file" ] || return 0 # built in, or not in this kernel
		for dep in $(modinfo -F depends "$file" | tr ',' ' '); do
			visit "$dep"
		done
		case $file in
		*.xz) xz -dc "$file" > "$root/modules/$name.ko" ;;
		*.zst) zstd -qdc "$file" > "$root/modules/$name.ko" ;;
		*.gz) gzip -dc "$file" > "$root/modules/$name.ko" ;;
		*) cp "$file" "$root/modules/$name.ko" ;;
		esac
		order+=("$name.ko")
	}
	if [ -n "$mdir" ]; then
		for m in "${wanted[@]}"; do visit "$m"; done
	fi
	printf '%s\n' "${order[@]}" > "$root/modules/order"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
	log "modules from $mdir: ${order[*]:-none}"
	rm -rf "$root"
}
modpart "$src_modules" "$work/src-mods.cpio.gz"
modpart "$dst_modules" "$work/dst-mods.cpio.gz"
cat "$base" "$work/src-mods.cpio.gz" > "$work/src.initrd"
cat "$base" "$work/dst-mods.cpio.gz" > "$work/dst.initrd"

# ---- shared disks: raw for the migration stream, qcow2 for savevm ---------------
if [ "$reuse" = 0 ]; then
	rm -f "$work"/state.img* "$work"/snap.qcow2* "$work/src.console"
	truncate -s 64M "$work/state.img"
	qemu-img create -q -f qcow2 "$work/snap.qcow2" 64M || infra "qemu-img missing (apt-get install qemu-utils)"
	truncate -s 128M "$work/snap.qcow2" # room to grow: the outer guest sees a block device
fi

# ---- outer boots, one at a time ------------------------------------------------
qpid=
cleanup() { [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
boot() { # boot NAME KERNEL CPU ROLE
	local name=$1 kernel=$2 cpu=$3 role=$4 t0 rc=0
	log "boot $name: $(basename "$kernel") -cpu $cpu role=$role"
	t0=$(date +%s%N)
	timeout --kill-after=10 "$limit" qemu-system-x86_64 -accel tcg -cpu "$cpu" -m 3072 -smp 1 \
		-nodefaults -display none -no-reboot -serial stdio -monitor none \
		-kernel "$kernel" -initrd "$work/$name.initrd" \
		-append "console=ttyS0 quiet panic=-1 xsg_role=$role xsg_guest=$guest xsg_observe=$observe xsg_strace=$strace" \
		-drive "file=$work/state.img,format=raw,if=virtio" \
		-drive "file=$work/snap.qcow2,format=raw,if=virtio" \
		< /dev/null > "$work/$name.console" 2>&1 &
	qpid=$!
	wait "$qpid" || rc=$?
	qpid=
	log "boot $name: exit=$rc after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	grep -a '^XSO ' "$work/$name.console" | grep -v 'guest-log\|hmp-out' | sed "s/^/  $name: /" >&2 || true
	[ "$rc" -eq 124 ] && infra "outer $name hit the ${limit}s bound (console: $work/$name.console)"
	grep -aq '^XSO done' "$work/$name.console" || infra "outer $name did not finish its role (console: $work/$name.console)"
	grep -aq 'kvm=ok' "$work/$name.console" || infra "no /dev/kvm in outer $name"
}

if [ "$reuse" = 0 ]; then
	boot src "$src_kernel" "$src_cpu" source
else
	[ -f "$work/src.console" ] || infra "--reuse-source: no earlier source run in $work"
	log "reusing the source run in $work"
fi
bytes=$(sed -n 's/^XSO migrate-out bytes=\([0-9]*\).*/\1/p' "$work/src.console" | tr -d '\r')
[ "${bytes:-0}" -gt 0 ] || infra "source wrote no migration stream"
grep -aq '^XSO phase=source hmp-out: Migration status: completed' "$work/src.console" ||
	infra "the source's migration did not complete (console: $work/src.console)"
grep -aq '^XSO phase=source hmp-out: .* xsg1 ' "$work/src.console" ||
	infra "the source has no snapshot xsg1 (console: $work/src.console)"
srcval() { # srcval WHEN KEY: a value of the guest's last line before savevm/migrate
	tr -d '\r' < "$work/src.console" | sed -n "s/^XSO phase=source $1-at .*\b$2=\([0-9]*\).*/\1/p"
}
# The target gets a fresh copy of what the source wrote (kept as *.orig).
for f in state.img snap.qcow2; do
	[ -f "$work/$f.orig" ] || cp --sparse=always "$work/$f" "$work/$f.orig"
	cp --sparse=always "$work/$f.orig" "$work/$f"
done
if [ "$leak" = 1 ]; then
	"$here/leak-pkru.py" "$work/state.img" >&2 || infra "leak-pkru failed on the stream"
	"$here/leak-pkru.py" "$work/snap.qcow2" >&2 || infra "leak-pkru failed on the snapshot"
fi
boot dst "$dst_kernel" "$dst_cpu" target

# ---- outcomes ----------------------------------------------------------------
status=0
for phase in migrate-in loadvm; do
	line=$(tr -d '\r' < "$work/dst.console" | grep -a "^XSO phase=$phase summary" || true)
	vcpu=$(tr -d '\r' < "$work/dst.console" | sed -n "s/^XSO phase=$phase vcpu_pct=\([0-9]*\).*/\1/p")
	vmstatus=$(tr -d '\r' < "$work/dst.console" | sed -n "s/^XSO phase=$phase hmp-out: VM status: \([a-z-]*\).*/\1/p" | head -n1)
	n=$(sed -n 's/.* lines=\([0-9]*\).*/\1/p' <<<"$line")
	first=$(sed -n 's/.* first_round=\([0-9]*\).*/\1/p' <<<"$line")
	bad=$(sed -n 's/.* bad=\([0-9]*\).*/\1/p' <<<"$line")
	[ -n "$n" ] || infra "no summary for $phase"
	if [ "$n" -eq 0 ]; then outcome=no-progress
	elif [ "$bad" -gt 0 ]; then outcome=corrupt
	elif [ "$first" -le 1 ]; then outcome=restarted
	else outcome=intact
	fi
	[ "$outcome" = intact ] || status=1
	when=migrate
	[ "$phase" = loadvm ] && when=savevm
	c0=$(sed -n 's/.* kvmclock_first_ms=\([0-9a-z]*\).*/\1/p' <<<"$line")
	c1=$(sed -n 's/.* kvmclock_last_ms=\([0-9a-z]*\).*/\1/p' <<<"$line")
	echo "RESULT phase=$phase outcome=$outcome lines=$n first_round=$first round_at_save=$(srcval $when round) bad=$bad vcpu_pct=${vcpu:-?} vm_status=${vmstatus:-?} kvmclock_at_save_ms=$(srcval $when kvmclock_ms) kvmclock_first_ms=$c0 kvmclock_last_ms=$c1 leak=$leak"
done
exit $status
