/*
 * xsave-exec: a small executor that runs batches of KVM XSAVE/XCRS/CPUID
 * test cases against the running kernel's /dev/kvm and reports raw results.
 *
 * It reads requests on stdin and writes replies on stdout; stderr is for
 * diagnostics only.  All integers are little-endian.  Nothing in a request is
 * trusted: every count and length is checked against the bytes actually
 * present and against fixed maxima before anything is executed.
 *
 * The field table of every record below is kvm/wire.ts; test/executor-wire.test.ts
 * checks this file's #defines, enums and its rd_ and wb_ calls against it.
 *
 * ------------------------------------------------------------------------
 * FRAMING
 *   frame   := u32 body_len, body[body_len]
 *   A request whose body_len exceeds MAX_REQUEST (64 MiB) cannot be
 *   resynchronised: the executor sends an error reply (status BAD_FRAME) and
 *   exits with status 3.  A body shorter than its 16-byte header gets a
 *   MALFORMED reply and the executor carries on.
 *   EOF on stdin at a frame boundary: clean exit 0.
 *
 * REQUEST BODY
 *   u32 magic   = 0x51585358 ("XSXQ")
 *   u16 version = 1
 *   u16 op      : 0 PING, 1 PROBE, 2 CASES
 *   u32 seq     : echoed in the reply
 *   u32 count   : PING/PROBE: must be 0; CASES: number of cases (<= MAX_CASES)
 *   payload     : PING/PROBE: empty; CASES: `count` case records
 *
 * REPLY BODY
 *   u32 magic   = 0x52585358 ("XSXR")
 *   u16 version = 1
 *   u16 op      : echo of the request op (0 if unreadable)
 *   u32 seq     : echo of the request seq (0 if unreadable)
 *   u32 status  : 0 OK, 1 BAD_MAGIC, 2 BAD_VERSION, 3 BAD_OP, 4 MALFORMED,
 *                 5 LIMIT, 6 KVM_UNAVAILABLE, 7 NO_MEMORY, 8 BAD_FRAME
 *   u32 count   : CASES with status 0: number of case results; otherwise 0
 *   payload     : status != 0: u16 msg_len, msg bytes (text, <= 255)
 *                 PING  : u32 pid, u32 protocol version
 *                 PROBE : see below
 *                 CASES : `count` case results
 *
 * PROBE payload
 *   u32 kvm_api_version
 *   i32 cap_xsave2      (KVM_CHECK_EXTENSION on the VM fd; -errno on failure)
 *   i32 cap_xcrs        (on the VM fd)
 *   i32 cap_max_vcpus   (on the VM fd)
 *   u32 xsave_size      (region size the executor uses: max(4096, cap_xsave2))
 *   u32 host_mxcsr_mask (raw MXCSR_MASK from an FXSAVE in this process)
 *   u64 host_xcr0       (XGETBV(0) in this process, 0 if OSXSAVE is off)
 *   u16 release_len, release bytes (uname -r)
 *   u32 n_entries, n_entries * cpuid entry   (KVM_GET_SUPPORTED_CPUID, all)
 *   cpuid entry := u32 function, index, flags, eax, ebx, ecx, edx   (28 bytes)
 *
 * CASE record (request)
 *   u32 case_len      total bytes of this record, including this field
 *   u8  policy        0 CONTINUE: run every step
 *                     1 IGNORE  : after the first failed SET_* step, skip the
 *                                 remaining SET_* steps, still RUN and GET
 *                                 (QEMU < 8.2 ignoring put_registers errors)
 *                     2 ABORT   : after the first failed SET_* step, skip the
 *                                 remaining SET_* steps and every RUN step
 *                                 (QEMU >= 8.2); GET steps still execute
 *   u8  n_steps       (<= 255)
 *   u8  n_regions     (<= 255)
 *   u8  n_xcr0        (<= 255)
 *   u16 n_cpuid       <= 256
 *   u16 timeout_ms    guest run wall-clock limit, 0 -> 200, <= 10000
 *   u32 region_len    0 if n_regions == 0, else == xsave_size (<= 64 KiB)
 *   u32 guest_rip     RIP loaded by SET_REGS, < GUEST_MEM_SIZE
 *   steps[n_steps]    u8 op, u8 arg
 *   xcr0[n_xcr0]      u64 each
 *   cpuid[n_cpuid]    28-byte entries (see above)
 *   regions[n_regions] region_len bytes each
 *   case_len must equal exactly 20 + the sizes above.
 *   The whole batch is validated before any case runs; a bad case makes the
 *   request fail (MALFORMED / LIMIT, with a message naming the case), and so
 *   does a worst-case reply size above 256 MiB.  count <= 65536.
 *
 * STEP ops (arg meaning)
 *   1 SET_CPUID2  (arg 0)       KVM_SET_CPUID2 with the case's entries
 *                               (n_cpuid may be 0: an empty table is set)
 *   2 SET_XCRS    (xcr0 index)  KVM_SET_XCRS { XCR0 = xcr0[arg] }
 *   3 SET_XSAVE   (region idx)  KVM_SET_XSAVE with regions[arg]
 *   4 GET_XSAVE   (0 auto, 1 KVM_GET_XSAVE, 2 KVM_GET_XSAVE2)
 *                               auto: GET_XSAVE2 iff xsave_size > 4096
 *   5 GET_XCRS    (arg 0)
 *   6 SET_REGS    (arg 0)       rip = guest_rip, rflags = 0x2, rest 0
 *   7 SET_SREGS   (bit0: CR4.OSFXSR)  real mode: all segments selector 0,
 *                               base 0, limit 0xffff; CR0 as at reset
 *   8 RUN         (arg 0)       run the guest (see GUEST below); together with
 *                               the policies this is the RUN_GUEST operation
 *   9 SET_CPUID2_HOST (arg 0)   KVM_SET_CPUID2 with the whole KVM_GET_SUPPORTED_CPUID
 *                               table (e.g. to read back the vCPU's unmasked XSTATE_BV
 *                               after the case's own CPUID); a SET step
 *   Every case runs on a fresh vCPU.  A VM is reused until it holds
 *   min(KVM_CAP_MAX_VCPUS, 1024) vCPUs, then replaced.
 *
 * CASE result
 *   u32 case_len      total bytes including this field
 *   i32 case_errno    0, or errno of a setup failure (VM/vCPU creation);
 *                     then every step is reported SKIPPED
 *   u8  aborted       1 if a RUN step was skipped because of policy ABORT
 *   u8  stopped_at    index of the first failed SET_* step, 0xff if none
 *   u8  n_steps
 *   u8  reserved (0)
 *   n_steps * step result:
 *     u8 op, u8 status (0 DONE, 1 SKIPPED), u16 reserved,
 *     i32 err (0 or a positive errno), u32 data_len, data[data_len]
 *   data: GET_XSAVE -> the region bytes (xsave_size; 4096 for KVM_GET_XSAVE)
 *         GET_XCRS  -> u32 nr_xcrs, u32 flags, nr * (u32 xcr, u32 rsvd, u64 value)
 *         RUN       -> run result; other steps -> empty
 *
 * RUN result (data of a RUN step)
 *   u8  outcome      1 HLT, 2 TIMEOUT, 3 EXIT (unexpected exit reason),
 *                    4 ERROR (KVM_RUN failed), 5 TOO_MANY_EXITS
 *   u8  checkpoint   1 if the guest wrote CHECKPOINT_DONE to the port
 *   u8  started      1 if the guest wrote CHECKPOINT_START to the port
 *   u8  n_exits      number of exits recorded (<= MAX_EXITS)
 *   i32 run_errno
 *   u32 elapsed_us
 *   MAX_EXITS * (u32 reason, u32 detail)   (unused entries zero)
 *     detail: IO: port << 16 | dir << 8 | first data byte;
 *             MMIO: low 32 bits of the address; INTERNAL_ERROR: suberror;
 *             FAIL_ENTRY: low 32 bits of the hardware reason
 *   u8  fxsave[512]  guest memory at FXSAVE_GPA after the run (pre-filled
 *                    with FILL_BYTE before the run)
 *
 * GUEST (real mode, code at GPA 0x1000, 64 KiB of RAM at GPA 0)
 *   0x1000 mov al,1 ; out 0x10,al ; fxsave [0x2000] ; mov al,2 ; out 0x10,al ;
 *          hlt ; jmp back to hlt
 *   0x1100 jmp $          (spins forever: for timeout tests, guest_rip 0x1100)
 *   Guest memory is re-initialised before every RUN.
 * ------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAGIC 0x51585358u
#define REP_MAGIC 0x52585358u
#define PROTO_VERSION 1

#define MAX_REQUEST (64u << 20)
#define MAX_REPLY (256u << 20)
#define MAX_CASES 65536u
#define MAX_STEPS 255u
#define MAX_REGIONS 255u
#define MAX_XCR0 255u
_Static_assert(MAX_STEPS == 255u && MAX_XCR0 == 255u && MAX_REGIONS == 255u, "u8 counts on the wire");
#define MAX_CPUID 256u
#define MAX_REGION (64u << 10)
#define MAX_TIMEOUT_MS 10000u
#define DEFAULT_TIMEOUT_MS 200u
#define MAX_EXITS 16u
#define MAX_RUN_LOOPS 64u
#define MAX_SUPPORTED_CPUID 4096u
#define VCPUS_PER_VM_CAP 1024

#define REQ_HDR 16u
#define CASE_HDR 20u
#define CPUID_WIRE 28u

enum { OP_PING = 0, OP_PROBE = 1, OP_CASES = 2 };
enum {
	ST_OK = 0, ST_BAD_MAGIC, ST_BAD_VERSION, ST_BAD_OP, ST_MALFORMED,
	ST_LIMIT, ST_KVM_UNAVAILABLE, ST_NO_MEMORY, ST_BAD_FRAME
};
enum { POL_CONTINUE = 0, POL_IGNORE = 1, POL_ABORT = 2 };
enum {
	S_SET_CPUID2 = 1, S_SET_XCRS, S_SET_XSAVE, S_GET_XSAVE, S_GET_XCRS,
	S_SET_REGS, S_SET_SREGS, S_RUN, S_SET_CPUID2_HOST
};
enum { STEP_DONE = 0, STEP_SKIPPED = 1 };
enum { RUN_HLT = 1, RUN_TIMEOUT, RUN_EXIT, RUN_ERROR, RUN_TOO_MANY_EXITS };

#define GUEST_MEM_SIZE 0x10000u
#define GUEST_CODE_GPA 0x1000u
#define GUEST_SPIN_GPA 0x1100u
#define FXSAVE_GPA 0x2000u
#define CHECKPOINT_PORT 0x10u
#define CHECKPOINT_START 1u
#define CHECKPOINT_DONE 2u
#define FILL_BYTE 0xa5u

#define RUN_RESULT_SIZE (12u + MAX_EXITS * 8u + 512u)
#define XCRS_RESULT_MAX (8u + KVM_MAX_XCRS * 16u)

/* Real-mode guest code, assembled by hand. */
static const uint8_t guest_code[] = {
	0xb0, CHECKPOINT_START,		/* 0x1000 mov al, 1                 */
	0xe6, CHECKPOINT_PORT,		/* 0x1002 out 0x10, al              */
	0x0f, 0xae, 0x06, 0x00, 0x20,	/* 0x1004 fxsave [0x2000] (DS:disp16) */
	0xb0, CHECKPOINT_DONE,		/* 0x1009 mov al, 2                 */
	0xe6, CHECKPOINT_PORT,		/* 0x100b out 0x10, al              */
	0xf4,				/* 0x100d hlt                       */
	0xeb, 0xfd,			/* 0x100e jmp 0x100d                */
};
static const uint8_t guest_spin[] = {
	0xeb, 0xfe,			/* 0x1100 jmp $                     */
};

/* ---------------------------------------------------------------- util */

static void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("xsave-exec: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ioctl that retries on EINTR; returns the ioctl's value or -errno. */
static long xioctl(int fd, unsigned long req, void *arg)
{
	for (;;) {
		long r = ioctl(fd, req, arg);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

static long xioctl_val(int fd, unsigned long req, unsigned long arg)
{
	for (;;) {
		long r = ioctl(fd, req, arg);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

static void xclose(int *fd)
{
	if (*fd >= 0) {
		while (close(*fd) < 0 && errno == EINTR)
			;
		*fd = -1;
	}
}

static uint64_t now_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------ bounded reader */

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int bad;
};

static int rd_need(struct rd *r, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return 0;
	}
	return 1;
}

static uint8_t rd_u8(struct rd *r)
{
	if (!rd_need(r, 1))
		return 0;
	return r->p[r->off++];
}

static uint16_t rd_u16(struct rd *r)
{
	if (!rd_need(r, 2))
		return 0;
	uint16_t v = (uint16_t)(r->p[r->off] | (r->p[r->off + 1] << 8));
	r->off += 2;
	return v;
}

static uint32_t rd_u32(struct rd *r)
{
	if (!rd_need(r, 4))
		return 0;
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | r->p[r->off + (size_t)i];
	r->off += 4;
	return v;
}

static uint64_t rd_u64(struct rd *r)
{
	uint64_t lo = rd_u32(r);
	uint64_t hi = rd_u32(r);
	return lo | (hi << 32);
}

static const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	if (!rd_need(r, n))
		return NULL;
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

/* ------------------------------------------------------ growable writer */

struct wb {
	uint8_t *p;
	size_t len;
	size_t cap;
	int oom;
};

static int wb_reserve(struct wb *w, size_t n)
{
	if (w->oom)
		return 0;
	if (n > MAX_REPLY + 64u || w->len > MAX_REPLY + 64u - n) {
		w->oom = 1;
		return 0;
	}
	if (w->len + n <= w->cap)
		return 1;
	size_t nc = w->cap ? w->cap : 4096;
	while (nc < w->len + n)
		nc *= 2;
	uint8_t *np = realloc(w->p, nc);
	if (!np) {
		w->oom = 1;
		return 0;
	}
	w->p = np;
	w->cap = nc;
	return 1;
}

static void wb_bytes(struct wb *w, const void *src, size_t n)
{
	if (!wb_reserve(w, n))
		return;
	if (n)
		memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void wb_u8(struct wb *w, uint8_t v) { wb_bytes(w, &v, 1); }

static void wb_u16(struct wb *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	wb_bytes(w, b, 2);
}

static void wb_u32(struct wb *w, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	wb_bytes(w, b, 4);
}

static void wb_u64(struct wb *w, uint64_t v)
{
	wb_u32(w, (uint32_t)v);
	wb_u32(w, (uint32_t)(v >> 32));
}

static void wb_put_u32_at(struct wb *w, size_t at, uint32_t v)
{
	if (w->oom || at + 4 > w->len)
		return;
	for (int i = 0; i < 4; i++)
		w->p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------- I/O */

/* Returns 1 on success, 0 on clean EOF before any byte, -1 on error/short. */
static int read_full(void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(STDIN_FILENO, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			diag("read: %s", strerror(errno));
			return -1;
		}
		if (r == 0)
			return got == 0 ? 0 : -1;
		got += (size_t)r;
	}
	return 1;
}

static int write_full(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(STDOUT_FILENO, p + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			diag("write: %s", strerror(errno));
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

/* Reply header into w (w must be empty); patched count later. */
static void reply_begin(struct wb *w, uint16_t op, uint32_t seq, uint32_t status)
{
	wb_u32(w, 0); /* frame length, patched in reply_send */
	wb_u32(w, REP_MAGIC);
	wb_u16(w, PROTO_VERSION);
	wb_u16(w, op);
	wb_u32(w, seq);
	wb_u32(w, status);
	wb_u32(w, 0); /* count */
}

#define REPLY_COUNT_AT 20u

static int reply_send(struct wb *w)
{
	if (w->oom)
		return -2;
	wb_put_u32_at(w, 0, (uint32_t)(w->len - 4));
	return write_full(w->p, w->len);
}

static int send_error(uint16_t op, uint32_t seq, uint32_t status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	diag("error reply (status %u): %.*s", status, n, msg);
	struct wb w = { 0 };
	reply_begin(&w, op, seq, status);
	wb_u16(&w, (uint16_t)n);
	wb_bytes(&w, msg, (size_t)n);
	int rc = reply_send(&w);
	free(w.p);
	return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ KVM state */

struct kvm_state {
	int kvm_fd;
	int vm_fd;
	int api_version;
	long run_size;
	int vcpus_in_vm;
	int vcpus_per_vm;
	uint32_t xsave_size;
	long cap_xsave2;
	uint8_t *guest_mem;
	char init_err[160];
};

static struct kvm_state K = { .kvm_fd = -1, .vm_fd = -1 };

static volatile sig_atomic_t g_timed_out;
static struct kvm_run *volatile g_run;

static void on_alarm(int sig)
{
	(void)sig;
	g_timed_out = 1;
	struct kvm_run *r = g_run;
	if (r)
		r->immediate_exit = 1;
}

static int vm_create(void)
{
	xclose(&K.vm_fd);
	K.vcpus_in_vm = 0;
	long fd = xioctl_val(K.kvm_fd, KVM_CREATE_VM, 0);
	if (fd < 0)
		return (int)fd;
	K.vm_fd = (int)fd;
	struct kvm_userspace_memory_region mr = {
		.slot = 0,
		.flags = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)K.guest_mem,
	};
	long r = xioctl(K.vm_fd, KVM_SET_USER_MEMORY_REGION, &mr);
	if (r < 0) {
		xclose(&K.vm_fd);
		return (int)r;
	}
	/* Needed for real mode on VMX; harmless elsewhere, failure tolerated. */
	r = xioctl_val(K.vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (r < 0)
		diag("KVM_SET_TSS_ADDR: %s (ignored)", strerror((int)-r));
	return 0;
}

/* Lazily open /dev/kvm; returns 0 or -1 with K.init_err set. */
static int kvm_init(void)
{
	if (K.kvm_fd >= 0 && K.vm_fd >= 0)
		return 0;
	if (K.kvm_fd < 0) {
		int fd;
		do
			fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		while (fd < 0 && errno == EINTR);
		if (fd < 0) {
			snprintf(K.init_err, sizeof K.init_err, "open /dev/kvm: %s", strerror(errno));
			return -1;
		}
		K.kvm_fd = fd;
		long v = xioctl_val(fd, KVM_GET_API_VERSION, 0);
		if (v != KVM_API_VERSION) {
			snprintf(K.init_err, sizeof K.init_err, "KVM API version %ld, want %d", v, KVM_API_VERSION);
			xclose(&K.kvm_fd);
			return -1;
		}
		K.api_version = (int)v;
		K.run_size = xioctl_val(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
		if (K.run_size < (long)sizeof(struct kvm_run)) {
			snprintf(K.init_err, sizeof K.init_err, "KVM_GET_VCPU_MMAP_SIZE: %ld", K.run_size);
			xclose(&K.kvm_fd);
			return -1;
		}
	}
	if (!K.guest_mem) {
		void *m = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED) {
			snprintf(K.init_err, sizeof K.init_err, "mmap guest memory: %s", strerror(errno));
			return -1;
		}
		K.guest_mem = m;
	}
	int r = vm_create();
	if (r < 0) {
		snprintf(K.init_err, sizeof K.init_err, "create VM: %s", strerror(-r));
		return -1;
	}
	long mv = xioctl_val(K.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	K.vcpus_per_vm = (mv > 0 && mv < VCPUS_PER_VM_CAP) ? (int)mv : VCPUS_PER_VM_CAP;
	K.cap_xsave2 = xioctl_val(K.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	uint32_t sz = 4096;
	if (K.cap_xsave2 > 4096)
		sz = (uint32_t)K.cap_xsave2;
	if (sz > MAX_REGION) {
		snprintf(K.init_err, sizeof K.init_err, "KVM_CAP_XSAVE2 %ld exceeds %u", K.cap_xsave2, MAX_REGION);
		xclose(&K.vm_fd);
		return -1;
	}
	K.xsave_size = sz;
	return 0;
}

struct vcpu {
	int fd;
	struct kvm_run *run;
};

static int vcpu_create(struct vcpu *v)
{
	v->fd = -1;
	v->run = NULL;
	if (K.vcpus_in_vm >= K.vcpus_per_vm) {
		int r = vm_create();
		if (r < 0)
			return r;
	}
	long fd = xioctl_val(K.vm_fd, KVM_CREATE_VCPU, (unsigned long)K.vcpus_in_vm);
	if (fd < 0) {
		/* Out of vCPU slots for some other reason: try once on a new VM. */
		int r = vm_create();
		if (r < 0)
			return r;
		fd = xioctl_val(K.vm_fd, KVM_CREATE_VCPU, 0);
		if (fd < 0)
			return (int)fd;
	}
	K.vcpus_in_vm++;
	v->fd = (int)fd;
	void *m = mmap(NULL, (size_t)K.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		xclose(&v->fd);
		return -e;
	}
	v->run = m;
	return 0;
}

static void vcpu_destroy(struct vcpu *v)
{
	if (v->run) {
		munmap(v->run, (size_t)K.run_size);
		v->run = NULL;
	}
	xclose(&v->fd);
}

/* ------------------------------------------------------------ cpuid */

static struct kvm_cpuid2 *cpuid_alloc(uint32_t n)
{
	return calloc(1, sizeof(struct kvm_cpuid2) + (size_t)n * sizeof(struct kvm_cpuid_entry2));
}

/* -------------------------------------------------------------- PROBE */

static uint32_t host_mxcsr_mask(void)
{
	static uint8_t area[512] __attribute__((aligned(16)));
	memset(area, 0, sizeof area);
	__asm__ volatile("fxsave %0" : "=m"(area));
	return (uint32_t)area[28] | (uint32_t)area[29] << 8 | (uint32_t)area[30] << 16 |
	       (uint32_t)area[31] << 24;
}

static uint64_t host_xcr0(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1u), "c"(0u));
	if (!(c & (1u << 27)))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0u));
	return (uint64_t)a | (uint64_t)d << 32;
}

static void do_probe(uint32_t seq)
{
	if (kvm_init() < 0) {
		send_error(OP_PROBE, seq, ST_KVM_UNAVAILABLE, "%s", K.init_err);
		return;
	}
	struct kvm_cpuid2 *c = NULL;
	uint32_t n = 64;
	long r;
	for (;;) {
		c = cpuid_alloc(n);
		if (!c) {
			send_error(OP_PROBE, seq, ST_NO_MEMORY, "cpuid alloc");
			return;
		}
		c->nent = n;
		r = xioctl(K.kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == -E2BIG && n < MAX_SUPPORTED_CPUID) {
			free(c);
			n *= 2;
			continue;
		}
		break;
	}
	if (r < 0) {
		free(c);
		send_error(OP_PROBE, seq, ST_KVM_UNAVAILABLE, "KVM_GET_SUPPORTED_CPUID: %s", strerror((int)-r));
		return;
	}
	if (c->nent > n)
		c->nent = n;
	struct utsname u;
	if (uname(&u) != 0)
		memset(&u, 0, sizeof u);
	size_t rl = strnlen(u.release, sizeof u.release);

	struct wb w = { 0 };
	reply_begin(&w, OP_PROBE, seq, ST_OK);
	wb_u32(&w, (uint32_t)K.api_version);
	wb_u32(&w, (uint32_t)(int32_t)K.cap_xsave2);
	wb_u32(&w, (uint32_t)(int32_t)xioctl_val(K.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS));
	wb_u32(&w, (uint32_t)(int32_t)xioctl_val(K.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
	wb_u32(&w, K.xsave_size);
	wb_u32(&w, host_mxcsr_mask());
	wb_u64(&w, host_xcr0());
	wb_u16(&w, (uint16_t)rl);
	wb_bytes(&w, u.release, rl);
	wb_u32(&w, c->nent);
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		wb_u32(&w, e->function);
		wb_u32(&w, e->index);
		wb_u32(&w, e->flags);
		wb_u32(&w, e->eax);
		wb_u32(&w, e->ebx);
		wb_u32(&w, e->ecx);
		wb_u32(&w, e->edx);
	}
	free(c);
	if (reply_send(&w) == -2)
		send_error(OP_PROBE, seq, ST_NO_MEMORY, "reply buffer");
	free(w.p);
}

/* -------------------------------------------------------------- CASES */

struct step { uint8_t op, arg; };

struct tcase {
	uint8_t policy;
	uint8_t n_steps, n_regions, n_xcr0;
	uint16_t n_cpuid;
	uint16_t timeout_ms;
	uint32_t region_len;
	uint32_t guest_rip;
	struct step steps[MAX_STEPS];
	uint64_t xcr0[MAX_XCR0];
	const uint8_t *cpuid;	/* n_cpuid * 28 bytes, points into the request */
	const uint8_t *regions;	/* n_regions * region_len bytes, into the request */
};

static int is_set_step(uint8_t op)
{
	return op == S_SET_CPUID2 || op == S_SET_XCRS || op == S_SET_XSAVE ||
	       op == S_SET_REGS || op == S_SET_SREGS || op == S_SET_CPUID2_HOST;
}

static size_t step_result_max(const struct step *s)
{
	switch (s->op) {
	case S_GET_XSAVE: return 12u + (s->arg == 1 ? 4096u : K.xsave_size);
	case S_GET_XCRS: return 12u + XCRS_RESULT_MAX;
	case S_RUN: return 12u + RUN_RESULT_SIZE;
	default: return 12u;
	}
}

/*
 * Parse and validate one case; on error fill msg and return an ST_* status.
 * *reply_bytes accumulates the worst-case result size.
 */
static uint32_t parse_case(struct rd *r, struct tcase *tc, uint64_t *reply_bytes,
			   char *msg, size_t msglen, uint32_t idx)
{
	size_t start = r->off;
	uint32_t case_len = rd_u32(r);
	if (r->bad) {
		snprintf(msg, msglen, "case %u: truncated case header", idx);
		return ST_MALFORMED;
	}
	if (case_len < CASE_HDR || case_len > r->len - start) {
		snprintf(msg, msglen, "case %u: case_len %u out of range (remaining %zu)", idx, case_len,
			 r->len - start);
		return ST_MALFORMED;
	}
	struct rd cr = { .p = r->p + start, .len = case_len, .off = 4 };
	tc->policy = rd_u8(&cr);
	tc->n_steps = rd_u8(&cr);
	tc->n_regions = rd_u8(&cr);
	tc->n_xcr0 = rd_u8(&cr);
	tc->n_cpuid = rd_u16(&cr);
	tc->timeout_ms = rd_u16(&cr);
	tc->region_len = rd_u32(&cr);
	tc->guest_rip = rd_u32(&cr);
	if (cr.bad) {
		snprintf(msg, msglen, "case %u: truncated case header", idx);
		return ST_MALFORMED;
	}
	if (tc->policy > POL_ABORT) {
		snprintf(msg, msglen, "case %u: bad policy %u", idx, tc->policy);
		return ST_MALFORMED;
	}
	/* n_steps, n_regions, n_xcr0 are u8 on the wire: their maxima (255) hold by type. */
	if (tc->n_cpuid > MAX_CPUID || tc->timeout_ms > MAX_TIMEOUT_MS) {
		snprintf(msg, msglen, "case %u: cpuid entries %u (max %u) or timeout %u ms (max %u)", idx,
			 tc->n_cpuid, MAX_CPUID, tc->timeout_ms, MAX_TIMEOUT_MS);
		return ST_LIMIT;
	}
	if (tc->region_len > MAX_REGION) {
		snprintf(msg, msglen, "case %u: region_len %u exceeds %u", idx, tc->region_len, MAX_REGION);
		return ST_LIMIT;
	}
	if (tc->n_regions ? tc->region_len != K.xsave_size : tc->region_len != 0) {
		snprintf(msg, msglen, "case %u: region_len %u must be %u", idx, tc->region_len,
			 tc->n_regions ? K.xsave_size : 0);
		return ST_MALFORMED;
	}
	if (tc->guest_rip >= GUEST_MEM_SIZE) {
		snprintf(msg, msglen, "case %u: guest_rip 0x%x outside guest memory", idx, tc->guest_rip);
		return ST_MALFORMED;
	}
	uint64_t expect = CASE_HDR + 2ull * tc->n_steps + 8ull * tc->n_xcr0 +
			  (uint64_t)CPUID_WIRE * tc->n_cpuid + (uint64_t)tc->n_regions * tc->region_len;
	if (expect != case_len) {
		snprintf(msg, msglen, "case %u: case_len %u but contents need %llu bytes", idx, case_len,
			 (unsigned long long)expect);
		return ST_MALFORMED;
	}
	uint64_t worst = 16;
	for (unsigned i = 0; i < tc->n_steps; i++) {
		struct step *s = &tc->steps[i];
		s->op = rd_u8(&cr);
		s->arg = rd_u8(&cr);
		int ok;
		switch (s->op) {
		case S_SET_CPUID2: ok = s->arg == 0; break;
		case S_SET_XCRS: ok = s->arg < tc->n_xcr0; break;
		case S_SET_XSAVE: ok = s->arg < tc->n_regions; break;
		case S_GET_XSAVE: ok = s->arg <= 2; break;
		case S_GET_XCRS: ok = s->arg == 0; break;
		case S_SET_REGS: ok = s->arg == 0; break;
		case S_SET_SREGS: ok = s->arg <= 1; break;
		case S_RUN: ok = s->arg == 0; break;
		case S_SET_CPUID2_HOST: ok = s->arg == 0; break;
		default: ok = 0; break;
		}
		if (!ok) {
			snprintf(msg, msglen, "case %u step %u: bad op %u / arg %u", idx, i, s->op, s->arg);
			return ST_MALFORMED;
		}
		worst += step_result_max(s);
	}
	for (unsigned i = 0; i < tc->n_xcr0; i++)
		tc->xcr0[i] = rd_u64(&cr);
	tc->cpuid = rd_bytes(&cr, (size_t)CPUID_WIRE * tc->n_cpuid);
	tc->regions = rd_bytes(&cr, (size_t)tc->n_regions * tc->region_len);
	if (cr.bad || cr.off != case_len) {
		snprintf(msg, msglen, "case %u: internal length mismatch", idx);
		return ST_MALFORMED;
	}
	r->off = start + case_len;
	*reply_bytes += worst;
	return ST_OK;
}

static void *region_buf;	/* xsave_size bytes, page aligned */
static uint32_t region_buf_size;

static int ensure_region_buf(void)
{
	if (region_buf && region_buf_size == K.xsave_size)
		return 0;
	free(region_buf);
	region_buf = NULL;
	if (posix_memalign(&region_buf, 4096, K.xsave_size) != 0)
		return -1;
	region_buf_size = K.xsave_size;
	return 0;
}

static long step_set_cpuid(struct vcpu *v, const struct tcase *tc)
{
	struct kvm_cpuid2 *c = cpuid_alloc(tc->n_cpuid ? tc->n_cpuid : 1);
	if (!c)
		return -ENOMEM;
	struct rd r = { .p = tc->cpuid, .len = (size_t)CPUID_WIRE * tc->n_cpuid };
	c->nent = tc->n_cpuid;
	for (unsigned i = 0; i < tc->n_cpuid; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		e->function = rd_u32(&r);
		e->index = rd_u32(&r);
		e->flags = rd_u32(&r);
		e->eax = rd_u32(&r);
		e->ebx = rd_u32(&r);
		e->ecx = rd_u32(&r);
		e->edx = rd_u32(&r);
	}
	long rc = r.bad ? -EINVAL : xioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return rc;
}

/* KVM_GET_SUPPORTED_CPUID, fetched once per process. */
static struct kvm_cpuid2 *supported_cpuid(void)
{
	static struct kvm_cpuid2 *cached;
	if (cached)
		return cached;
	for (uint32_t n = 64; n <= MAX_SUPPORTED_CPUID; n *= 2) {
		struct kvm_cpuid2 *c = cpuid_alloc(n);
		if (!c)
			return NULL;
		c->nent = n;
		long r = xioctl(K.kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == 0) {
			cached = c;
			return c;
		}
		free(c);
		if (r != -E2BIG)
			return NULL;
	}
	return NULL;
}

static long step_set_cpuid_host(struct vcpu *v)
{
	struct kvm_cpuid2 *c = supported_cpuid();
	if (!c)
		return -ENOMEM;
	return xioctl(v->fd, KVM_SET_CPUID2, c);
}

static long step_set_xcrs(struct vcpu *v, uint64_t xcr0)
{
	struct kvm_xcrs x;
	memset(&x, 0, sizeof x);
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = xcr0;
	return xioctl(v->fd, KVM_SET_XCRS, &x);
}

static long step_set_regs(struct vcpu *v, const struct tcase *tc)
{
	struct kvm_regs regs;
	memset(&regs, 0, sizeof regs);
	regs.rip = tc->guest_rip;
	regs.rflags = 0x2;
	return xioctl(v->fd, KVM_SET_REGS, &regs);
}

static void seg_real(struct kvm_segment *s)
{
	s->selector = 0;
	s->base = 0;
	s->limit = 0xffff;
}

static long step_set_sregs(struct vcpu *v, uint8_t arg)
{
	struct kvm_sregs sr;
	long rc = xioctl(v->fd, KVM_GET_SREGS, &sr);
	if (rc < 0)
		return rc;
	seg_real(&sr.cs);
	seg_real(&sr.ds);
	seg_real(&sr.es);
	seg_real(&sr.fs);
	seg_real(&sr.gs);
	seg_real(&sr.ss);
	sr.cr0 &= ~1ull; /* real mode */
	if (arg & 1)
		sr.cr4 |= 1ull << 9; /* OSFXSR */
	return xioctl(v->fd, KVM_SET_SREGS, &sr);
}

static void guest_mem_reset(void)
{
	memset(K.guest_mem, 0, GUEST_MEM_SIZE);
	memcpy(K.guest_mem + GUEST_CODE_GPA, guest_code, sizeof guest_code);
	memcpy(K.guest_mem + GUEST_SPIN_GPA, guest_spin, sizeof guest_spin);
	memset(K.guest_mem + FXSAVE_GPA, FILL_BYTE, 512);
}

static int timer_arm(unsigned ms)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = ms / 1000u;
	it.it_value.tv_usec = (suseconds_t)(ms % 1000u) * 1000;
	return setitimer(ITIMER_REAL, &it, NULL);
}

static void step_run(struct vcpu *v, const struct tcase *tc, struct wb *w, long *err_out)
{
	uint8_t outcome = RUN_TOO_MANY_EXITS, checkpoint = 0, started = 0, n_exits = 0;
	int run_errno = 0;
	uint32_t exits[MAX_EXITS][2];
	memset(exits, 0, sizeof exits);

	guest_mem_reset();
	g_timed_out = 0;
	v->run->immediate_exit = 0;
	g_run = v->run;
	uint64_t t0 = now_us();
	if (timer_arm(tc->timeout_ms ? tc->timeout_ms : DEFAULT_TIMEOUT_MS) != 0) {
		run_errno = errno;
		outcome = RUN_ERROR;
		goto done;
	}
	for (unsigned loop = 0; loop < MAX_RUN_LOOPS; loop++) {
		if (g_timed_out) {
			outcome = RUN_TIMEOUT;
			break;
		}
		int r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0) {
			if (errno == EINTR) {
				if (g_timed_out) {
					outcome = RUN_TIMEOUT;
					break;
				}
				continue;
			}
			run_errno = errno;
			outcome = RUN_ERROR;
			break;
		}
		struct kvm_run *run = v->run;
		uint32_t reason = run->exit_reason, detail = 0;
		int stop = 1;
		switch (reason) {
		case KVM_EXIT_IO: {
			uint8_t val = 0;
			uint64_t off = run->io.data_offset;
			if (run->io.size >= 1 && off < (uint64_t)K.run_size)
				val = ((const uint8_t *)run)[off];
			detail = (uint32_t)run->io.port << 16 | (uint32_t)run->io.direction << 8 | val;
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == CHECKPOINT_PORT) {
				if (val == CHECKPOINT_START)
					started = 1;
				else if (val == CHECKPOINT_DONE)
					checkpoint = 1;
				stop = 0;
			} else {
				outcome = RUN_EXIT;
			}
			break;
		}
		case KVM_EXIT_HLT:
			outcome = RUN_HLT;
			break;
		case KVM_EXIT_MMIO:
			detail = (uint32_t)run->mmio.phys_addr;
			outcome = RUN_EXIT;
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			detail = run->internal.suberror;
			outcome = RUN_EXIT;
			break;
		case KVM_EXIT_FAIL_ENTRY:
			detail = (uint32_t)run->fail_entry.hardware_entry_failure_reason;
			outcome = RUN_EXIT;
			break;
		case KVM_EXIT_INTR:
			stop = 0;
			break;
		default:
			outcome = RUN_EXIT;
			break;
		}
		if (n_exits < MAX_EXITS) {
			exits[n_exits][0] = reason;
			exits[n_exits][1] = detail;
			n_exits++;
		}
		if (stop)
			break;
	}
	timer_arm(0);
done:
	g_run = NULL;
	v->run->immediate_exit = 0;
	uint64_t el = now_us() - t0;

	wb_u32(w, RUN_RESULT_SIZE);
	wb_u8(w, outcome);
	wb_u8(w, checkpoint);
	wb_u8(w, started);
	wb_u8(w, n_exits);
	wb_u32(w, (uint32_t)run_errno);
	wb_u32(w, el > 0xffffffffu ? 0xffffffffu : (uint32_t)el);
	for (unsigned i = 0; i < MAX_EXITS; i++) {
		wb_u32(w, exits[i][0]);
		wb_u32(w, exits[i][1]);
	}
	wb_bytes(w, K.guest_mem + FXSAVE_GPA, 512);
	*err_out = run_errno ? -run_errno : 0;
}

static void run_case(const struct tcase *tc, struct wb *w)
{
	size_t case_start = w->len;
	struct vcpu v;
	int cerr = vcpu_create(&v);
	uint8_t aborted = 0, stopped_at = 0xff;

	wb_u32(w, 0); /* case_len, patched */
	wb_u32(w, (uint32_t)(cerr < 0 ? -cerr : 0));
	size_t flags_at = w->len;
	wb_u8(w, 0);
	wb_u8(w, 0xff);
	wb_u8(w, tc->n_steps);
	wb_u8(w, 0);

	int stopped = 0;
	for (unsigned i = 0; i < tc->n_steps; i++) {
		const struct step *s = &tc->steps[i];
		int skip = cerr < 0;
		if (!skip && stopped && tc->policy != POL_CONTINUE) {
			if (is_set_step(s->op))
				skip = 1;
			else if (s->op == S_RUN && tc->policy == POL_ABORT) {
				skip = 1;
				aborted = 1;
			}
		}
		wb_u8(w, s->op);
		wb_u8(w, skip ? STEP_SKIPPED : STEP_DONE);
		wb_u16(w, 0);
		size_t err_at = w->len;
		wb_u32(w, 0);
		if (skip) {
			wb_u32(w, 0);
			continue;
		}
		long rc = 0;
		switch (s->op) {
		case S_SET_CPUID2:
			rc = step_set_cpuid(&v, tc);
			wb_u32(w, 0);
			break;
		case S_SET_XCRS:
			rc = step_set_xcrs(&v, tc->xcr0[s->arg]);
			wb_u32(w, 0);
			break;
		case S_SET_XSAVE:
			memcpy(region_buf, tc->regions + (size_t)s->arg * tc->region_len, tc->region_len);
			rc = xioctl(v.fd, KVM_SET_XSAVE, region_buf);
			wb_u32(w, 0);
			break;
		case S_GET_XSAVE: {
			int use2 = s->arg == 2 || (s->arg == 0 && K.xsave_size > 4096);
			uint32_t sz = use2 ? K.xsave_size : 4096;
			memset(region_buf, 0, K.xsave_size);
			rc = xioctl(v.fd, use2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, region_buf);
			if (rc < 0) {
				wb_u32(w, 0);
			} else {
				wb_u32(w, sz);
				wb_bytes(w, region_buf, sz);
			}
			break;
		}
		case S_GET_XCRS: {
			struct kvm_xcrs x;
			memset(&x, 0, sizeof x);
			rc = xioctl(v.fd, KVM_GET_XCRS, &x);
			if (rc < 0) {
				wb_u32(w, 0);
				break;
			}
			uint32_t nr = x.nr_xcrs > KVM_MAX_XCRS ? KVM_MAX_XCRS : x.nr_xcrs;
			wb_u32(w, 8u + 16u * nr);
			wb_u32(w, nr);
			wb_u32(w, x.flags);
			for (uint32_t k = 0; k < nr; k++) {
				wb_u32(w, x.xcrs[k].xcr);
				wb_u32(w, x.xcrs[k].reserved);
				wb_u64(w, x.xcrs[k].value);
			}
			break;
		}
		case S_SET_REGS:
			rc = step_set_regs(&v, tc);
			wb_u32(w, 0);
			break;
		case S_SET_SREGS:
			rc = step_set_sregs(&v, s->arg);
			wb_u32(w, 0);
			break;
		case S_RUN:
			step_run(&v, tc, w, &rc);
			break;
		case S_SET_CPUID2_HOST:
			rc = step_set_cpuid_host(&v);
			wb_u32(w, 0);
			break;
		default:
			rc = -EINVAL;
			wb_u32(w, 0);
			break;
		}
		if (rc < 0) {
			wb_put_u32_at(w, err_at, (uint32_t)-rc);
			if (is_set_step(s->op) && !stopped) {
				stopped = 1;
				stopped_at = (uint8_t)i;
			}
		}
	}
	if (!w->oom) {
		w->p[flags_at] = aborted;
		w->p[flags_at + 1] = stopped_at;
	}
	wb_put_u32_at(w, case_start, (uint32_t)(w->len - case_start));
	if (cerr == 0)
		vcpu_destroy(&v);
}

static void do_cases(uint32_t seq, uint32_t count, const uint8_t *body, size_t body_len)
{
	char msg[256];
	if (count > MAX_CASES) {
		send_error(OP_CASES, seq, ST_LIMIT, "count %u exceeds %u", count, MAX_CASES);
		return;
	}
	if (kvm_init() < 0) {
		send_error(OP_CASES, seq, ST_KVM_UNAVAILABLE, "%s", K.init_err);
		return;
	}
	if (ensure_region_buf() < 0) {
		send_error(OP_CASES, seq, ST_NO_MEMORY, "region buffer");
		return;
	}
	/* Pass 1: validate every case (nothing runs if any case is bad). */
	static struct tcase tc;
	struct rd r = { .p = body, .len = body_len, .off = REQ_HDR };
	uint64_t reply_bytes = 24;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t st = parse_case(&r, &tc, &reply_bytes, msg, sizeof msg, i);
		if (st != ST_OK) {
			send_error(OP_CASES, seq, st, "%s", msg);
			return;
		}
	}
	if (r.off != r.len) {
		send_error(OP_CASES, seq, ST_MALFORMED, "%zu trailing bytes after %u cases", r.len - r.off, count);
		return;
	}
	if (reply_bytes > MAX_REPLY) {
		send_error(OP_CASES, seq, ST_LIMIT, "worst-case reply %llu bytes exceeds %u",
			   (unsigned long long)reply_bytes, MAX_REPLY);
		return;
	}
	struct wb w = { 0 };
	if (!wb_reserve(&w, (size_t)reply_bytes)) {
		free(w.p);
		send_error(OP_CASES, seq, ST_NO_MEMORY, "reply buffer of %llu bytes", (unsigned long long)reply_bytes);
		return;
	}
	reply_begin(&w, OP_CASES, seq, ST_OK);
	wb_put_u32_at(&w, REPLY_COUNT_AT, count);
	/* Pass 2: parse again (already validated) and execute. */
	struct rd r2 = { .p = body, .len = body_len, .off = REQ_HDR };
	uint64_t ignored = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (parse_case(&r2, &tc, &ignored, msg, sizeof msg, i) != ST_OK) {
			free(w.p);
			send_error(OP_CASES, seq, ST_MALFORMED, "revalidation failed: %s", msg);
			return;
		}
		run_case(&tc, &w);
	}
	if (reply_send(&w) == -2)
		send_error(OP_CASES, seq, ST_NO_MEMORY, "reply buffer");
	free(w.p);
}

/* --------------------------------------------------------------- main */

static int handle(const uint8_t *body, size_t len)
{
	struct rd r = { .p = body, .len = len };
	uint32_t magic = rd_u32(&r);
	uint16_t ver = rd_u16(&r);
	uint16_t op = rd_u16(&r);
	uint32_t seq = rd_u32(&r);
	uint32_t count = rd_u32(&r);
	if (r.bad)
		return send_error(0, 0, ST_MALFORMED, "request body of %zu bytes is shorter than its header", len);
	if (magic != REQ_MAGIC)
		return send_error(op, seq, ST_BAD_MAGIC, "bad magic 0x%08x", magic);
	if (ver != PROTO_VERSION)
		return send_error(op, seq, ST_BAD_VERSION, "version %u, want %u", ver, PROTO_VERSION);
	switch (op) {
	case OP_PING: {
		if (count != 0 || len != REQ_HDR)
			return send_error(op, seq, ST_MALFORMED, "PING takes no payload");
		struct wb w = { 0 };
		reply_begin(&w, OP_PING, seq, ST_OK);
		wb_u32(&w, (uint32_t)getpid());
		wb_u32(&w, PROTO_VERSION);
		int rc = reply_send(&w);
		free(w.p);
		return rc;
	}
	case OP_PROBE:
		if (count != 0 || len != REQ_HDR)
			return send_error(op, seq, ST_MALFORMED, "PROBE takes no payload");
		do_probe(seq);
		return 0;
	case OP_CASES:
		do_cases(seq, count, body, len);
		return 0;
	default:
		return send_error(op, seq, ST_BAD_OP, "unknown op %u", op);
	}
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: KVM_RUN must see EINTR */
	if (sigaction(SIGALRM, &sa, NULL) != 0) {
		diag("sigaction: %s", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	int status = 0;
	for (;;) {
		uint8_t lenb[4];
		int rr = read_full(lenb, 4);
		if (rr == 0)
			break;
		if (rr < 0) {
			status = 1;
			break;
		}
		uint32_t len = (uint32_t)lenb[0] | (uint32_t)lenb[1] << 8 | (uint32_t)lenb[2] << 16 |
			       (uint32_t)lenb[3] << 24;
		if (len > MAX_REQUEST) {
			send_error(0, 0, ST_BAD_FRAME, "frame length %u exceeds %u; cannot resynchronise", len,
				   MAX_REQUEST);
			status = 3;
			break;
		}
		uint8_t *body = malloc(len ? len : 1);
		if (!body) {
			send_error(0, 0, ST_NO_MEMORY, "cannot allocate %u-byte request", len);
			status = 3;
			break;
		}
		rr = read_full(body, len);
		if (rr != 1 && len != 0) {
			diag("EOF or error inside a %u-byte frame", len);
			free(body);
			status = 1;
			break;
		}
		int hr = handle(body, len);
		free(body);
		if (hr < 0) {
			status = 1;
			break;
		}
	}
	free(region_buf);
	if (K.guest_mem)
		munmap(K.guest_mem, GUEST_MEM_SIZE);
	xclose(&K.vm_fd);
	xclose(&K.kvm_fd);
	return status;
}
