/* The x87/SSE state under test (fpu.S) and its check (check.c). */
#ifndef FPU_H
#define FPU_H
#include <stdint.h>

struct fxsave_area {
	uint16_t fcw, fsw;
	uint8_t ftw, rsvd0;
	uint16_t fop;
	uint32_t fip, fcs, fdp, fds;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];	/* 10 bytes used in each */
	uint8_t xmm[16][16];	/* 8 used in 32-bit mode */
	uint8_t rest[96];
} __attribute__((aligned(16)));

void fpu_setup(void);
void fpu_save(struct fxsave_area *buf);

/* What differs between the state right after fpu_setup() and now. */
struct fpu_diff {
	uint32_t st_bad;	/* bit i: ST i differs */
	uint32_t xmm_bad;	/* bit i: XMM i differs */
	int control_bad;	/* FCW, FSW, FTW or MXCSR differ */
};

void check_init(void);
struct fpu_diff check_now(struct fxsave_area *now);
#endif
