/* kvmclock: we register a pvclock page with MSR_KVM_SYSTEM_TIME_NEW and read
 * time the way Linux does. KVM rewrites the page when it (re)computes the
 * clock; QEMU migrates the MSR with the other MSRs, i.e. after the XSAVE step
 * of its restore, so a restore that stops at XSAVE leaves it unset on the
 * target. Reporting this clock shows what such a guest's time does. */
#include "kvmclock.h"

#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

struct pvclock {
	volatile uint32_t version, pad0;
	volatile uint64_t tsc_timestamp, system_time;
	volatile uint32_t tsc_to_system_mul;
	volatile int8_t tsc_shift;
	volatile uint8_t flags, pad[2];
} __attribute__((packed, aligned(32)));

static struct pvclock clock;
static int enabled;

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int kvmclock_init(void)
{
	uint32_t r[4];
	uint32_t addr = (uint32_t)&clock;

	cpuid(0x40000000, r);	/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX */
	if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d)
		return 0;
	cpuid(0x40000001, r);
	if (!(r[0] & KVM_FEATURE_CLOCKSOURCE2))
		return 0;
	__asm__ volatile("wrmsr" : : "c"(MSR_KVM_SYSTEM_TIME_NEW),
			 "a"(addr | 1), "d"(0));
	enabled = 1;
	return 1;
}

uint64_t kvmclock_ns(void)
{
	uint32_t version, mul;
	uint64_t delta, base, scaled;
	int8_t shift;

	if (!enabled)
		return 0;
	do {
		version = clock.version;
		__asm__ volatile("" ::: "memory");
		delta = rdtsc() - clock.tsc_timestamp;
		base = clock.system_time;
		mul = clock.tsc_to_system_mul;
		shift = clock.tsc_shift;
		__asm__ volatile("" ::: "memory");
	} while ((version & 1) || version != clock.version);
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	/* (delta * mul) >> 32 with a 64x32 multiply */
	scaled = (((delta & 0xffffffffu) * mul) >> 32) + (delta >> 32) * mul;
	return base + scaled;
}

uint64_t kvmclock_tsc(void)
{
	return rdtsc();
}

uint64_t kvmclock_page_tsc(void)
{
	return clock.tsc_timestamp;
}

uint32_t kvmclock_page_version(void)
{
	return clock.version;
}
