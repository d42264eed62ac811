#include "clock.h"
#include <time.h>

static double ms_of(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double now_ms(void) { return ms_of(CLOCK_MONOTONIC); }
double up_ms(void) { return ms_of(CLOCK_BOOTTIME); }
