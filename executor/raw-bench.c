/*
 * xsave-raw-bench: the baseline for bench/kvm.ts. It runs the ioctl sequence of one typical
 * conformance case in a tight C loop, with no protocol, no pipe and no TypeScript, and prints
 * one JSON line with the rate:
 *
 *   xsave-raw-bench N [reuse]
 *
 * Per case (as xsave-exec runs a case: a fresh vCPU, VMs recycled at min(KVM_CAP_MAX_VCPUS, 1024)):
 *   KVM_CREATE_VCPU + mmap(kvm_run), KVM_SET_CPUID2 (the whole KVM_GET_SUPPORTED_CPUID table),
 *   KVM_SET_XCRS (XCR0 = 0x7 & host), KVM_SET_XSAVE (XSTATE_BV = host set, data in every
 *   component), KVM_GET_XSAVE, KVM_GET_XCRS, munmap + close.
 * With "reuse", one vCPU serves every case (no create/destroy): the upper bound of what vCPU
 * reuse could give.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int kvm_fd = -1, vm_fd = -1, vcpus_in_vm, vcpus_per_vm = 1024;
static long run_size;

static void die(const char *what)
{
	fprintf(stderr, "xsave-raw-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void new_vm(void)
{
	if (vm_fd >= 0)
		close(vm_fd);
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		die("KVM_CREATE_VM");
	vcpus_in_vm = 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	int reuse = argc > 2 && strcmp(argv[2], "reuse") == 0;
	if (n <= 0)
		n = 10000;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		die("open /dev/kvm");
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	new_vm();
	long mv = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (mv > 0 && mv < vcpus_per_vm)
		vcpus_per_vm = (int)mv;
	long x2 = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	if (x2 > 4096) {
		fprintf(stderr, "xsave-raw-bench: XSAVE2 size %ld > 4096 is not supported by this baseline\n", x2);
		return 2;
	}

	int nent = 256;
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + (size_t)nent * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid)
		die("calloc");
	cpuid->nent = (uint32_t)nent;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		die("KVM_GET_SUPPORTED_CPUID");
	uint64_t host = 3;
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function == 0xd && e->index == 0)
			host = (uint64_t)e->eax | (uint64_t)e->edx << 32;
	}

	static struct kvm_xsave xs, out;
	memset(&xs, 0, sizeof xs);
	uint8_t *r = (uint8_t *)xs.region;
	for (int i = 0; i < 4096; i++)
		r[i] = (uint8_t)(i * 37 + 11);
	memset(r + 416, 0, 4096 - 416);
	for (int i = 576; i < 2432; i++)
		r[i] = (uint8_t)(i * 13 + 5);
	uint32_t mxcsr = 0x1f80;
	memcpy(r + 24, &mxcsr, 4);
	memcpy(r + 512, &host, 8);
	struct kvm_xcrs xcrs;
	memset(&xcrs, 0, sizeof xcrs);
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].value = 0x7 & host;

	int fd = -1;
	void *run = NULL;
	double t0 = now();
	for (long k = 0; k < n; k++) {
		if (!reuse || fd < 0) {
			if (vcpus_in_vm >= vcpus_per_vm)
				new_vm();
			fd = ioctl(vm_fd, KVM_CREATE_VCPU, vcpus_in_vm);
			if (fd < 0)
				die("KVM_CREATE_VCPU");
			vcpus_in_vm++;
			run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (run == MAP_FAILED)
				die("mmap");
		}
		if (ioctl(fd, KVM_SET_CPUID2, cpuid) < 0)
			die("KVM_SET_CPUID2");
		if (ioctl(fd, KVM_SET_XCRS, &xcrs) < 0)
			die("KVM_SET_XCRS");
		if (ioctl(fd, KVM_SET_XSAVE, &xs) < 0)
			die("KVM_SET_XSAVE");
		if (ioctl(fd, KVM_GET_XSAVE, &out) < 0)
			die("KVM_GET_XSAVE");
		struct kvm_xcrs got;
		memset(&got, 0, sizeof got);
		if (ioctl(fd, KVM_GET_XCRS, &got) < 0)
			die("KVM_GET_XCRS");
		if (!reuse) {
			munmap(run, (size_t)run_size);
			close(fd);
			fd = -1;
		}
	}
	double dt = now() - t0;
	printf("{\"cases\":%ld,\"seconds\":%.6f,\"casesPerSec\":%.1f,\"reuse\":%s,\"hostXcr0\":\"0x%llx\"}\n", n, dt,
	       (double)n / dt, reuse ? "true" : "false", (unsigned long long)host);
	return 0;
}
