/* The two clocks every record is timed with. */
#ifndef ESB_CLOCK_H
#define ESB_CLOCK_H
/* monotonic ms: how long a step took */
double now_ms(void);
/* ms since the guest booted ("up"): every step says when it ended, so the host can tell where a boot's time went */
double up_ms(void);
#endif
