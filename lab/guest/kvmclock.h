/* KVM's paravirtual clock (pvclock), if the hypervisor offers it. */
#ifndef KVMCLOCK_H
#define KVMCLOCK_H
#include <stdint.h>

/* 1 when CPUID says KVM with kvmclock; then MSR_KVM_SYSTEM_TIME_NEW points
 * the hypervisor at our pvclock page. */
int kvmclock_init(void);
/* Guest time in ns since the hypervisor's epoch, as a guest OS computes it
 * from the pvclock page and the TSC (0 if kvmclock is off). */
uint64_t kvmclock_ns(void);
/* The raw inputs: the TSC now, and the page's tsc_timestamp and version
 * (the version goes up each time the hypervisor rewrites the page). */
uint64_t kvmclock_tsc(void);
uint64_t kvmclock_page_tsc(void);
uint32_t kvmclock_page_version(void);
#endif
