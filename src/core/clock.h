/* Wall-clock seconds for timings, progress and logs: CLOCK_MONOTONIC, so intervals never jump with the
 * system clock. Only differences of two readings mean something. */
#ifndef TC_CORE_CLOCK_H
#define TC_CORE_CLOCK_H

double tc_now_s(void);

#endif
