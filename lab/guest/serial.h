/* COM1 (port 0x3f8) output: the guest's only way to report. */
#ifndef SERIAL_H
#define SERIAL_H
#include <stdint.h>

void serial_init(void);
void serial_puts(const char *s);
void serial_hex(uint32_t v, int digits);
void serial_dec(uint64_t v);
#endif
