/* IDT for vectors 0..47, the 8259 PIC remapped to 0x20..0x2f with only IRQ0
 * unmasked, the PIT at 100 Hz (mode 2). An exception prints
 * "XSG fault vec=N" and stops the guest for good. */
#include "timer.h"
#include "serial.h"
#include "io.h"

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

static struct idt_gate idt[48];
static volatile uint32_t ticks;
extern const uint32_t isr_table[48];

void interrupt(uint32_t vector);

void interrupt(uint32_t vector)
{
	if (vector < 32) {
		serial_puts("XSG fault vec=");
		serial_dec(vector);
		serial_puts("\n");
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	if (vector == 32)
		ticks++;
	if (vector >= 40)
		outb(0xa0, 0x20);	/* EOI slave */
	outb(0x20, 0x20);		/* EOI master */
}

static void idt_init(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint32_t)idt };
	int i;

	for (i = 0; i < 48; i++) {
		idt[i].off_lo = isr_table[i] & 0xffff;
		idt[i].off_hi = isr_table[i] >> 16;
		idt[i].sel = 0x08;
		idt[i].type = 0x8e;	/* present, ring 0, 32-bit interrupt gate */
	}
	__asm__ volatile("lidt %0" : : "m"(desc));
}

static void pic_init(void)
{
	outb(0x20, 0x11); outb(0xa0, 0x11);	/* ICW1: init, ICW4 follows */
	outb(0x21, 0x20); outb(0xa1, 0x28);	/* ICW2: vector bases */
	outb(0x21, 0x04); outb(0xa1, 0x02);	/* ICW3: cascade on IRQ2 */
	outb(0x21, 0x01); outb(0xa1, 0x01);	/* ICW4: 8086 mode */
	outb(0x21, 0xfe); outb(0xa1, 0xff);	/* only IRQ0 */
}

static void pit_init(void)
{
	uint16_t div = 1193182 / TICK_HZ;

	outb(0x43, 0x34);	/* channel 0, lo/hi, mode 2 */
	outb(0x40, div & 0xff);
	outb(0x40, div >> 8);
}

void timer_init(void)
{
	idt_init();
	pic_init();
	pit_init();
	__asm__ volatile("sti");
}

uint32_t timer_ticks(void)
{
	return ticks;
}

void timer_wait(uint32_t n, int busy)
{
	uint32_t end = ticks + n;

	while ((int32_t)(ticks - end) < 0) {
		if (busy)
			__asm__ volatile("pause");
		else
			__asm__ volatile("sti; hlt");
	}
}
