/* COM1 at 115200 8N1. Under QEMU the line status is always "ready", but we
 * poll it anyway so that the program is correct on any 16550. */
#include "serial.h"
#include "io.h"
#include "div64.h"

#define COM1 0x3f8

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB on */
	outb(COM1 + 0, 0x01);	/* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1, DLAB off */
	outb(COM1 + 2, 0xc7);	/* FIFO on, cleared */
}

static void serial_putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

void serial_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s);
	}
}

void serial_hex(uint32_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	char buf[9];
	int i;

	for (i = digits - 1; i >= 0; i--, v >>= 4)
		buf[i] = hex[v & 0xf];
	buf[digits] = 0;
	serial_puts(buf);
}

void serial_dec(uint64_t v)
{
	char buf[21];
	int i = 20;
	uint64_t q;

	buf[i] = 0;
	do {
		q = div64_32(v, 10);
		buf[--i] = (char)('0' + (uint32_t)(v - q * 10));
		v = q;
	} while (v);
	serial_puts(buf + i);
}
