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
#endif
