/* Multiboot v1 entry: QEMU's -kernel loader jumps here in 32-bit protected
 * mode, paging off, interrupts off, EAX = 0x2BADB002, EBX = multiboot info.
 * We load our own flat GDT (so the IDT gates have a known code selector),
 * set up a stack and call main(magic, info). */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00000003          /* page-align modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.section .text
	.globl _start
_start:
	cli
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %fs
	mov %cx, %gs
	mov %cx, %ss
	mov $stack_top, %esp
	push %ebx                          /* multiboot info */
	push %eax                          /* magic */
	call main
2:	cli
	hlt
	jmp 2b

	.section .rodata
	.align 8
gdt:	.quad 0                            /* null */
	.quad 0x00cf9a000000ffff           /* 0x08: code, flat 4 GiB */
	.quad 0x00cf92000000ffff           /* 0x10: data, flat 4 GiB */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.section .bss
	.align 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
