/* The x87/SSE state under test. fpu_setup() enables SSE (CR0.EM=0, MP=1;
 * CR4.OSFXSR, OSXMMEXCPT), loads ST0..ST7, XMM0..XMM7 (32-bit mode has no
 * more), FCW and MXCSR with distinctive values. fpu_save(buf) is FXSAVE into
 * a 512-byte, 16-byte-aligned buffer. Nothing else in the program touches
 * these registers (C is compiled with -mgeneral-regs-only). */
	.set FCW_PATTERN,   0x0f7f       /* round toward zero, 64-bit precision */
	.set MXCSR_PATTERN, 0xff80       /* FZ, round toward zero, all masked */

	.section .text
	.globl fpu_setup
fpu_setup:
	mov %cr0, %eax
	and $~0x4, %eax                  /* EM = 0 */
	or  $0x2, %eax                   /* MP = 1 */
	mov %eax, %cr0
	mov %cr4, %eax
	or  $0x600, %eax                 /* OSFXSR | OSXMMEXCPT */
	mov %eax, %cr4
	fninit
	mov $7, %ecx                     /* push 8 values: ST0 ends up = ints[0] */
1:	fildll ints(,%ecx,8)
	dec %ecx
	jns 1b
	fldcw fcw
	ldmxcsr mxcsr
	movdqu xmms + 0*16, %xmm0
	movdqu xmms + 1*16, %xmm1
	movdqu xmms + 2*16, %xmm2
	movdqu xmms + 3*16, %xmm3
	movdqu xmms + 4*16, %xmm4
	movdqu xmms + 5*16, %xmm5
	movdqu xmms + 6*16, %xmm6
	movdqu xmms + 7*16, %xmm7
	ret

	.globl fpu_save
fpu_save:
	mov 4(%esp), %eax
	fxsave (%eax)
	ret

	.section .rodata
	.align 16
ints:	/* ST0..ST7 */
	.quad 0x0123456789abcd00, 0x0123456789abcd01, 0x0123456789abcd02, 0x0123456789abcd03
	.quad 0x0123456789abcd04, 0x0123456789abcd05, 0x0123456789abcd06, 0x0123456789abcd07
xmms:	/* XMM i = bytes 0xX0 .. 0xXf with X = 8 + i */
	.irp i, 8, 9, a, b, c, d, e, f
	.irp j, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, a, b, c, d, e, f
	.byte 0x\i\j
	.endr
	.endr
fcw:	.word FCW_PATTERN
	.align 4
mxcsr:	.long MXCSR_PATTERN

	.section .note.GNU-stack, "", @progbits
