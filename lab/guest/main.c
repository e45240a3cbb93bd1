/* xsave-harness lab guest: set x87/SSE state once, then every round check it
 * and report over COM1:
 *   XSG start mode=hlt|busy
 *   XSG round=N ticks=T kvmclock_ms=K tsc_m=A pv_tsc_m=B pv_ver=V check=ok
 *   XSG round=N ticks=T kvmclock_ms=K ... check=BAD fcw=.. fsw=.. ftw=.. mxcsr=.. st=.. xmm=..
 * (st/xmm: bit masks of the registers that differ; K: the kvmclock time in ms,
 * "none" without kvmclock, and then no tsc/pv fields; A: the TSC now and B: the
 * pvclock page's tsc_timestamp, both in units of 2^20 cycles; V: the page's
 * version, which goes up whenever the hypervisor rewrites the page). A round is every
 * ROUND_TICKS ticks of the 100 Hz PIT. "busy" on the multiboot command line
 * (QEMU -append busy) spins instead of HLT between rounds. */
#include <stdint.h>
#include "serial.h"
#include "fpu.h"
#include "timer.h"
#include "kvmclock.h"
#include "div64.h"

#define MB_BOOTLOADER_MAGIC 0x2badb002
#define MB_INFO_CMDLINE (1u << 2)
#define ROUND_TICKS 20	/* 200 ms */

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

static int has_word(const char *s, const char *w)
{
	const char *p, *q;

	for (; *s; s++) {
		for (p = s, q = w; *q && *p == *q; p++, q++)
			;
		if (!*q)
			return 1;
	}
	return 0;
}

static int kvm;

static void report(uint32_t round, const struct fxsave_area *now,
		   struct fpu_diff d)
{
	serial_puts("XSG round=");
	serial_dec(round);
	serial_puts(" ticks=");
	serial_dec(timer_ticks());
	serial_puts(" kvmclock_ms=");
	if (kvm) {
		serial_dec(div64_32(kvmclock_ns(), 1000000));
		serial_puts(" tsc_m=");
		serial_dec(kvmclock_tsc() >> 20);
		serial_puts(" pv_tsc_m=");
		serial_dec(kvmclock_page_tsc() >> 20);
		serial_puts(" pv_ver=");
		serial_dec(kvmclock_page_version());
	} else {
		serial_puts("none");
	}
	if (!d.st_bad && !d.xmm_bad && !d.control_bad) {
		serial_puts(" check=ok\n");
		return;
	}
	serial_puts(" check=BAD fcw=");
	serial_hex(now->fcw, 4);
	serial_puts(" fsw=");
	serial_hex(now->fsw, 4);
	serial_puts(" ftw=");
	serial_hex(now->ftw, 2);
	serial_puts(" mxcsr=");
	serial_hex(now->mxcsr, 8);
	serial_puts(" st=");
	serial_hex(d.st_bad, 2);
	serial_puts(" xmm=");
	serial_hex(d.xmm_bad, 2);
	serial_puts("\n");
}

void main(uint32_t magic, const struct mb_info *mb);

void main(uint32_t magic, const struct mb_info *mb)
{
	static struct fxsave_area now;
	int busy = 0;
	uint32_t round;

	serial_init();
	if (magic == MB_BOOTLOADER_MAGIC && (mb->flags & MB_INFO_CMDLINE))
		busy = has_word((const char *)mb->cmdline, "busy");
	fpu_setup();
	check_init();
	kvm = kvmclock_init();
	timer_init();
	serial_puts(busy ? "XSG start mode=busy" : "XSG start mode=hlt");
	serial_puts(kvm ? " kvmclock=on\n" : " kvmclock=none\n");
	for (round = 1;; round++) {
		report(round, &now, check_now(&now));
		timer_wait(ROUND_TICKS, busy);
	}
}
