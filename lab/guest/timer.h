/* A 100 Hz tick from the PIT through the 8259 PIC, and waiting for ticks. */
#ifndef TIMER_H
#define TIMER_H
#include <stdint.h>

#define TICK_HZ 100

void timer_init(void);
uint32_t timer_ticks(void);
/* busy = 0: sleep with HLT between ticks (an idle vCPU costs ~no host CPU);
 * busy = 1: spin (the vCPU thread burns 100% even when all is well). */
void timer_wait(uint32_t ticks, int busy);
#endif
