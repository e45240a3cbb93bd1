/* The state check: FXSAVE right after setup is the reference; each round's
 * FXSAVE is compared with it. Only what the guest set is compared (control
 * words, ST0..7, XMM0..7): FIP/FDP/FCS/FDS are not architecturally stable
 * across a save/restore by the VMM. */
#include "fpu.h"

static struct fxsave_area ref;

static int differs(const uint8_t *a, const uint8_t *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 1;
	return 0;
}

void check_init(void)
{
	fpu_save(&ref);
}

struct fpu_diff check_now(struct fxsave_area *now)
{
	struct fpu_diff d = { 0, 0, 0 };
	int i;

	fpu_save(now);
	for (i = 0; i < 8; i++) {
		if (differs(now->st[i], ref.st[i], 10))
			d.st_bad |= 1u << i;
		if (differs(now->xmm[i], ref.xmm[i], 16))
			d.xmm_bad |= 1u << i;
	}
	d.control_bad = now->fcw != ref.fcw || now->fsw != ref.fsw ||
			now->ftw != ref.ftw || now->mxcsr != ref.mxcsr;
	return d;
}
