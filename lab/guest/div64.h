/* 64-bit by 32-bit division without libgcc (i386 has no 64-bit divide). */
#ifndef DIV64_H
#define DIV64_H
#include <stdint.h>

static inline uint64_t div64_32(uint64_t v, uint32_t d)
{
	uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v, qhi, qlo, rem;

	qhi = hi / d;
	rem = hi % d;
	__asm__("divl %4" : "=a"(qlo), "=d"(rem) : "a"(lo), "d"(rem), "rm"(d));
	return ((uint64_t)qhi << 32) | qlo;
}
#endif
