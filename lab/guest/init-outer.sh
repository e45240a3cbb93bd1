#!/bin/sh
# /init of the outer lab VM (busybox sh). It loads KVM, then runs the inner
# QEMU 7.2 (-accel kvm -cpu qemu64) on the lab guest (/guest/xsave-guest.elf)
# in the role given on the kernel command line, and reports on the console.
#
# Command line: xsg_role=source|target  xsg_guest=hlt|busy  xsg_observe=SECONDS
#               xsg_strace=0|1
#   source: run the guest, `savevm xsg1` on the qcow2 drive (/dev/vdb), let it
#           go on, `migrate` it into a file, copy the stream onto /dev/vda.
#   target: `-incoming` from /dev/vda and observe; then `-loadvm xsg1` and
#           observe.
#
# Every line meant for a parser starts with "XSO " (this script) or "XSG "
# (the guest's own lines, copied from its serial log between
# "XSO phase=P guest-log begin" and "XSO phase=P guest-log end"):
#   XSO boot kernel=R cpu_flags_pku=0|1 kvm=ok|missing
#   XSO phase=P start ms=N            inner QEMU started (N: ms since boot)
#   XSO phase=P first-line ms=N       first guest line seen (launch time = difference)
#   XSO phase=P cpu tid=T comm=C ticks=N secs=S pct=X   per thread of the inner QEMU
#   XSO phase=P vcpu_pct=X            the "CPU 0/KVM" thread
#   XSO phase=P hmp cmd=C ms=N        an HMP command and how long it took
#   XSO phase=P hmp-out: TEXT         what the monitor answered
#   XSO phase=P qemu-stderr: TEXT     what the inner QEMU printed
#   XSO phase=P strace: TEXT          a failed ioctl of the inner QEMU (xsg_strace=1)
#   XSO phase=P summary lines=N first_round=A last_round=B bad=K kvmclock_first_ms=C kvmclock_last_ms=D
#   XSO migrate-out bytes=N          size of the stream written to /dev/vda
#   XSO phase=source savevm-at|migrate-at round=N ticks=T kvmclock_ms=K ...
#                                     the guest's last line before savevm / after migrate
#                                     (the VM is stopped once migrate completes)
#   XSO done                          the role ran to its end (then reboot)
# Each wait is bounded; whatever happens, the script ends in a reboot (-no-reboot: QEMU exits).

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /run /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /run

arg() { # arg NAME DEFAULT: value of NAME= on the kernel command line
	v=$(tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -n1)
	echo "${v:-$2}"
}
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
say() { echo "XSO $*"; }

role=$(arg xsg_role none)
gmode=$(arg xsg_guest hlt)
observe=$(arg xsg_observe 5)
strace=$(arg xsg_strace 0)

finish() { # the outer QEMU runs with -no-reboot: a reboot ends it, with or without ACPI
	say done
	sync
	reboot -f
	sleep 5
	echo b > /proc/sysrq-trigger
}

# Modules in dependency order (made by the initramfs builder); a kernel with
# them built in has none.
if [ -f /modules/order ]; then
	while read -r m; do
		insmod "/modules/$m" 2>&1 | sed 's/^/XSO insmod-error: /'
	done < /modules/order
fi
pku=0
grep -qw pku /proc/cpuinfo && pku=1
kvm=missing
[ -c /dev/kvm ] && kvm=ok
say "boot kernel=$(uname -r) cpu_flags_pku=$pku kvm=$kvm role=$role ms=$(ms)"
if [ "$kvm" != ok ]; then
	dmesg | tail -n 20 | sed 's/^/XSO dmesg: /'
	finish
fi

# ---- the inner QEMU --------------------------------------------------------
qpid=
start_inner() { # start_inner PHASE EXTRA-ARGS...
	phase=$1
	shift
	rm -f /run/mon.in /run/mon.out /run/mon.log /run/g.log /run/qemu.err
	mkfifo /run/mon.in /run/mon.out
	: > /run/mon.log
	: > /run/g.log
	shown=0
	say "phase=$phase start ms=$(ms)"
	# A bound on the whole inner run; quit normally ends it much earlier.
	# xsg_strace=1 (and strace in the initramfs): log the failed ioctls.
	wrap=
	if [ "$strace" = 1 ] && [ -x /usr/bin/strace ]; then
		wrap="strace -f -qq -Z --seccomp-bpf -e trace=ioctl -e signal=none -o /run/strace.log"
	fi
	: > /run/strace.log
	timeout 600 $wrap qemu-system-x86_64 -accel kvm -cpu qemu64 -m 32 -smp 1 \
		-name xsg,debug-threads=on -nodefaults -display none -no-reboot \
		-serial file:/run/g.log \
		-chardev pipe,id=mon,path=/run/mon -mon chardev=mon,mode=readline \
		-drive file=/dev/vdb,format=qcow2,if=none,id=snap \
		-kernel /guest/xsave-guest.elf -append "$gmode" \
		"$@" > /run/qemu.err 2>&1 &
	qpid=$!
	cat /run/mon.out >> /run/mon.log &
}

alive() { kill -0 "$qpid" 2>/dev/null; }

rounds() { grep -c '^XSG round=' /run/g.log; }

wait_lines() { # wait_lines N SECONDS: until the guest printed N round lines
	end=$(($(ms) + $2 * 1000))
	while [ "$(rounds)" -lt "$1" ] && [ "$(ms)" -lt "$end" ] && alive; do
		sleep 0.1
	done
	[ "$(rounds)" -ge "$1" ]
}

prompts() { grep -o '(qemu)' /run/mon.log | wc -l; }

hmp() { # hmp CMD [SECONDS]: send CMD, wait for the next prompt, show the answer
	before=$(prompts)
	t0=$(ms)
	alive || { say "phase=$phase hmp cmd=$1 qemu=gone"; return 1; }
	timeout 5 sh -c "echo '$1' > /run/mon.in"
	end=$((t0 + ${2:-30} * 1000))
	while [ "$(prompts)" -le "$before" ] && [ "$(ms)" -lt "$end" ] && alive; do
		sleep 0.1
	done
	say "phase=$phase hmp cmd=$1 ms=$(($(ms) - t0))"
	show_monitor
}

shown=0
show_monitor() { # the monitor's answers since the last call (echoed command lines dropped)
	size=$(wc -c < /run/mon.log)
	tail -c +$((shown + 1)) /run/mon.log | tr -d '\r\033' |
		grep -v '(qemu)\|\[K\|^QEMU .* monitor\|^[[:space:]]*$' |
		sed "s/^/XSO phase=$phase hmp-out: /"
	shown=$size
}

cpu_sample() { # tid ticks(utime+stime) comm, one line per thread of QEMU
	qemu=$(pidof qemu-system-x86_64 || echo "$qpid")
	for t in /proc/"$qemu"/task/*; do
		line=$(cat "$t/stat" 2>/dev/null) || continue
		rest=${line##*) }
		# shellcheck disable=SC2086
		set -- $rest
		echo "${t##*/} $((${12} + ${13})) $(cat "$t/comm")"
	done
}

cpu_measure() { # cpu_measure SECONDS: per-thread CPU of the inner QEMU
	alive || { say "phase=$phase cpu qemu=gone"; return; }
	u0=$(cut -d' ' -f1 /proc/uptime)
	cpu_sample > /run/cpu0
	sleep "$1"
	cpu_sample > /run/cpu1
	u1=$(cut -d' ' -f1 /proc/uptime)
	awk -v u0="$u0" -v u1="$u1" -v p="$phase" '
		NR == FNR { t[$1] = $2; next }
		{
			comm = $3; for (i = 4; i <= NF; i++) comm = comm "_" $i
			d = $2 - t[$1]; secs = u1 - u0
			pct = d / secs    # ticks are 1/100 s
			printf "XSO phase=%s cpu tid=%s comm=%s ticks=%d secs=%.2f pct=%.0f\n", p, $1, comm, d, secs, pct
			if (comm ~ /^CPU_0\/KVM$/) vcpu = pct; tot += pct
		}
		END { printf "XSO phase=%s vcpu_pct=%.0f total_pct=%.0f\n", p, vcpu, tot }
	' /run/cpu0 /run/cpu1
}

stop_inner() {
	alive && hmp quit 10
	i=0
	while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	alive && kill -9 "$qpid"
	wait "$qpid" 2>/dev/null
	say "phase=$phase exit=$?"
	show_monitor
	sed 's/\r//g' /run/qemu.err | sed "s/^/XSO phase=$phase qemu-stderr: /"
	# QEMU's start-up probing (E2BIG, ENOTTY) and KVM_RUN's EINTR are normal.
	grep -v 'E2BIG\|ENOTTY\|KVM_RUN.*EINTR\|+++ exited' /run/strace.log |
		sed "s/^/XSO phase=$phase strace: /"
	say "phase=$phase guest-log begin"
	sed 's/\r//g' /run/g.log
	[ -z "$(tail -c 1 /run/g.log)" ] || echo # a line cut short by stop
	say "phase=$phase guest-log end"
	sed 's/\r//g' /run/g.log | awk -v p="$phase" '
		function val(k,   i, a) { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] } }
		/^XSG round=.* check=/ {
			n++; r = val("round"); c = val("kvmclock_ms")
			if (n == 1) { first = r; c0 = c }
			last = r; c1 = c
		}
		/check=BAD/ { bad++ }
		END { printf "XSO phase=%s summary lines=%d first_round=%d last_round=%d bad=%d kvmclock_first_ms=%s kvmclock_last_ms=%s\n", p, n, first, last, bad, c0, c1 }'
}

observe_run() { # the same observations for every phase
	t0=$(ms)
	if wait_lines 1 30; then
		say "phase=$phase first-line ms=$(ms) launch_ms=$(($(ms) - t0))"
	else
		say "phase=$phase first-line none within=30s alive=$(alive && echo 1 || echo 0)"
	fi
	wait_lines $(( $(rounds) + 5 )) 10 >/dev/null
	cpu_measure "$observe"
	hmp 'info status'
	# Reading the registers makes QEMU get the whole vCPU state from KVM and put
	# it back before the vCPU runs again, a second restore that could repair
	# what the first one left out; so the VM is stopped first and not resumed.
	if [ "$(rounds)" -eq 0 ] || grep -q check=BAD /run/g.log; then
		hmp stop
		hmp 'info registers'
	fi
}

# ---- the roles ---------------------------------------------------------------
case $role in
source)
	start_inner source
	observe_run
	say "phase=source savevm-at $(grep '^XSG round=.* check=' /run/g.log | tail -n1 | tr -d '\r' | cut -d' ' -f2-)"
	hmp 'savevm xsg1' 60
	hmp 'info snapshots'
	wait_lines $(( $(rounds) + 3 )) 10 >/dev/null
	hmp 'migrate "exec:cat > /run/state.bin"' 60
	hmp 'info migrate'
	say "phase=source migrate-at $(grep '^XSG round=.* check=' /run/g.log | tail -n1 | tr -d '\r' | cut -d' ' -f2-)"
	bytes=$(wc -c < /run/state.bin 2>/dev/null || echo 0)
	dd if=/run/state.bin of=/dev/vda bs=1M conv=fsync 2>/dev/null
	say "migrate-out bytes=$bytes"
	stop_inner
	;;
target)
	start_inner migrate-in -incoming 'exec:cat /dev/vda'
	observe_run
	stop_inner
	start_inner loadvm -loadvm xsg1
	observe_run
	stop_inner
	;;
*)
	say "error unknown role=$role"
	;;
esac
finish
