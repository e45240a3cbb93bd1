// SPDX-License-Identifier: MIT
// Copyright (c) the xsave-harness authors
//
// probe.c -- a small static /dev/kvm probe for the lab kernels. It runs inside a QEMU
// TCG guest (the "host" of KVM) and prints one line per result, each starting with
// "XSP ", on stdout (the serial console). For three vCPU CPUID shapes it checks:
//   set3    KVM_SET_XSAVE with XSTATE_BV 0x3, then KVM_GET_XSAVE
//   set203  KVM_SET_XSAVE with XSTATE_BV 0x203 and PKRU 0x55555554, then KVM_GET_XSAVE
//   xcrs    which XCR0 values KVM_SET_XCRS accepts among 0x1 0x3 0x7 0x207
//   run     a real-mode guest (out 0x10; hlt) runs to HLT, then KVM_GET_XSAVE
//   rt      that buffer given to KVM_SET_XSAVE of a fresh vCPU of the same shape
// CPUID shapes: min = leaves 0 and 1 only, XSAVE/OSXSAVE/AVX cleared (qemu64-like,
// guest-supported XCR0 = 0); nopku = everything KVM supports minus PKU (leaf 7 ECX
// PKU/OSPKE, leaf 0xD.0 bit 9); full = everything KVM supports; empty = KVM_SET_CPUID2
// with no entries; nocpuid = KVM_SET_CPUID2 never called.
// Build: gcc -static -O2 -o probe probe.c
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PKRU_BIT (1ull << 9)
#define MAXENT 128

static int kvm;
static struct { struct kvm_cpuid2 h; struct kvm_cpuid_entry2 e[MAXENT]; } sup;
static unsigned pkru_off = 2688;
static uint64_t sup_xcr0;

struct vm { int vm, cpu; struct kvm_run *run; uint8_t *mem; };

static void fail(const char *what) { printf("XSP fatal %s errno=%d\n", what, errno); fflush(stdout); exit(1); }

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx) return &c->entries[i];
	return NULL;
}

// Build the CPUID table for a shape into *out.
static void make_cpuid(const char *shape, struct kvm_cpuid2 *out)
{
	struct kvm_cpuid_entry2 *e;
	memcpy(out, &sup, sizeof(sup));
	if (!strcmp(shape, "min")) {
		uint32_t n = 0;
		for (uint32_t i = 0; i < sup.h.nent; i++)
			if (sup.e[i].function <= 1) out->entries[n++] = sup.e[i];
		out->nent = n;
		if ((e = find(out, 0, 0))) e->eax = 1;
		if ((e = find(out, 1, 0))) e->ecx &= ~((1u << 26) | (1u << 27) | (1u << 28));
	} else if (!strcmp(shape, "empty")) {
		out->nent = 0;
	} else if (!strcmp(shape, "nopku")) {
		if ((e = find(out, 7, 0))) e->ecx &= ~((1u << 3) | (1u << 4));
		if ((e = find(out, 0xd, 0))) e->eax &= ~(uint32_t)PKRU_BIT;
	}
}

static struct vm new_vm(const char *shape)
{
	struct vm v;
	struct { struct kvm_cpuid2 h; struct kvm_cpuid_entry2 e[MAXENT]; } c;
	if ((v.vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) fail("KVM_CREATE_VM");
	if ((v.cpu = ioctl(v.vm, KVM_CREATE_VCPU, 0)) < 0) fail("KVM_CREATE_VCPU");
	make_cpuid(shape, &c.h);
	if (strcmp(shape, "nocpuid") && ioctl(v.cpu, KVM_SET_CPUID2, &c) < 0) fail("KVM_SET_CPUID2");
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	v.run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, v.cpu, 0);
	if (v.run == MAP_FAILED) fail("mmap run");
	v.mem = NULL;
	return v;
}

static void free_vm(struct vm *v) { close(v->cpu); close(v->vm); }

static uint64_t bv(const struct kvm_xsave *x) { uint64_t b; memcpy(&b, (uint8_t *)x->region + 512, 8); return b; }
static uint32_t pkru_area(const struct kvm_xsave *x) { uint32_t p; memcpy(&p, (uint8_t *)x->region + pkru_off, 4); return p; }

static void buf(struct kvm_xsave *x, uint64_t xstate_bv, uint32_t pkru)
{
	memset(x, 0, sizeof(*x));
	uint8_t *r = (uint8_t *)x->region;
	uint16_t fcw = 0x37f; uint32_t mxcsr = 0x1f80;
	memcpy(r, &fcw, 2); memcpy(r + 24, &mxcsr, 4);
	memcpy(r + 512, &xstate_bv, 8);
	if (xstate_bv & PKRU_BIT) memcpy(r + pkru_off, &pkru, 4);
}

static void get_line(struct vm *v, const char *shape, const char *test, int rc, int err)
{
	struct kvm_xsave g;
	memset(&g, 0, sizeof(g));
	if (ioctl(v->cpu, KVM_GET_XSAVE, &g) < 0) {
		printf("XSP shape=%s test=%s rc=%d errno=%d get=fail:%d\n", shape, test, rc, err, errno);
		return;
	}
	printf("XSP shape=%s test=%s rc=%d errno=%d get_bv=0x%llx get_pkru=0x%x\n", shape, test, rc, err,
	       (unsigned long long)bv(&g), pkru_area(&g));
}

static int set(struct vm *v, struct kvm_xsave *x, int *err)
{
	int rc = ioctl(v->cpu, KVM_SET_XSAVE, x);
	*err = rc < 0 ? errno : 0;
	return rc;
}

// Real-mode guest at 0x1000: mov al,0x42; out 0x10,al; hlt. Returns exits seen, as a string.
static int run_guest(struct vm *v, char *trace, size_t n)
{
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x10, 0xf4 };
	v->mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED) fail("mmap mem");
	memcpy(v->mem + 0x1000, code, sizeof(code));
	struct kvm_userspace_memory_region reg = { .slot = 0, .guest_phys_addr = 0,
		.memory_size = 0x10000, .userspace_addr = (uintptr_t)v->mem };
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0) fail("SET_USER_MEMORY_REGION");
	struct kvm_sregs s;
	if (ioctl(v->cpu, KVM_GET_SREGS, &s) < 0) fail("GET_SREGS");
	s.cs.base = 0; s.cs.selector = 0;
	if (ioctl(v->cpu, KVM_SET_SREGS, &s) < 0) fail("SET_SREGS");
	struct kvm_regs r = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(v->cpu, KVM_SET_REGS, &r) < 0) fail("SET_REGS");
	trace[0] = 0;
	for (int i = 0; i < 8; i++) {
		if (ioctl(v->cpu, KVM_RUN, 0) < 0) { snprintf(trace + strlen(trace), n - strlen(trace), "runerr%d", errno); return -1; }
		int r2 = v->run->exit_reason;
		snprintf(trace + strlen(trace), n - strlen(trace), "%s%s", i ? "," : "",
			 r2 == KVM_EXIT_IO ? "io" : r2 == KVM_EXIT_HLT ? "hlt" : "other");
		if (r2 == KVM_EXIT_HLT) return 0;
		if (r2 != KVM_EXIT_IO) return -1;
	}
	return -1;
}

static uint32_t host_pkru(void)
{
	uint32_t a = 0, b, c = 0, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	if (!(c & (1u << 4))) return 0xffffffff; // no OSPKE: no PKRU register to read
	uint32_t p;
	__asm__ volatile(".byte 0x0f,0x01,0xee" : "=a"(p) : "c"(0) : "rdx"); // rdpkru
	return p;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) fail("open /dev/kvm");
	sup.h.nent = MAXENT;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &sup) < 0) fail("KVM_GET_SUPPORTED_CPUID");
	struct kvm_cpuid_entry2 *d0 = find(&sup.h, 0xd, 0), *d9 = find(&sup.h, 0xd, 9);
	if (d0) sup_xcr0 = d0->eax | ((uint64_t)d0->edx << 32);
	if (d9 && d9->ebx) pkru_off = d9->ebx;
	printf("XSP host api=%d supported_xcr0=0x%llx pkru_off=%u host_pkru=0x%x xsave2=%d\n",
	       ioctl(kvm, KVM_GET_API_VERSION, 0), (unsigned long long)sup_xcr0, pkru_off, host_pkru(),
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2));

	static const char *shapes[] = { "min", "nopku", "full", "empty", "nocpuid" };
	for (int s = 0; s < 5; s++) {
		const char *sh = shapes[s];
		struct kvm_xsave x; struct vm v; int err, rc;

		v = new_vm(sh); buf(&x, 0x3, 0); rc = set(&v, &x, &err);
		get_line(&v, sh, "set3", rc, err); free_vm(&v);

		v = new_vm(sh); buf(&x, 0x3 | PKRU_BIT, 0x55555554); rc = set(&v, &x, &err);
		get_line(&v, sh, "set203", rc, err); free_vm(&v);

		v = new_vm(sh);
		static const uint64_t xcr0s[] = { 0x1, 0x3, 0x7, 0x207 };
		printf("XSP shape=%s test=xcrs accepted=", sh);
		for (int i = 0, first = 1; i < 4; i++) {
			struct kvm_xcrs xc = { .nr_xcrs = 1 };
			xc.xcrs[0].xcr = 0; xc.xcrs[0].value = xcr0s[i];
			if (ioctl(v.cpu, KVM_SET_XCRS, &xc) == 0) { printf("%s0x%llx", first ? "" : ",", (unsigned long long)xcr0s[i]); first = 0; }
		}
		printf("\n"); free_vm(&v);

		char trace[64];
		v = new_vm(sh);
		rc = run_guest(&v, trace, sizeof(trace));
		struct kvm_xsave g; memset(&g, 0, sizeof(g));
		int grc = ioctl(v.cpu, KVM_GET_XSAVE, &g);
		printf("XSP shape=%s test=run exits=%s rc=%d get_bv=0x%llx get_pkru=0x%x\n", sh, trace, rc < 0 ? rc : grc,
		       (unsigned long long)bv(&g), pkru_area(&g));
		munmap(v.mem, 0x10000); free_vm(&v);

		v = new_vm(sh); rc = set(&v, &g, &err);
		get_line(&v, sh, "rt", rc, err); free_vm(&v);
	}
	printf("XSP done\n");
	return 0;
}
