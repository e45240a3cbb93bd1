/* Interrupt entry stubs for vectors 0..47: push the vector number and call
 * interrupt(vector) in timer.c. Exceptions never return (the handler stops
 * the guest), so an error code left on the stack does not matter. */
	.section .text
	.macro stub n
isr\n:	push $\n
	jmp isr_common
	.endm
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	stub \n
	.endr

isr_common:
	pushal
	push 32(%esp)                    /* the vector */
	call interrupt
	add $4, %esp
	popal
	add $4, %esp                     /* drop the vector */
	iret

	.section .rodata
	.globl isr_table
	.align 4
isr_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.long isr\n
	.endr

	.section .note.GNU-stack, "", @progbits
