/*
 * clock: the monotonic clock, in microseconds or milliseconds (time spans, never dates):
 * the one every module reads.
 */
#ifndef CRM_CLOCK_H
#define CRM_CLOCK_H

#include <time.h>

static inline long long clock_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline long long clock_monotonic_ms(void)
{
    return clock_monotonic_us() / 1000;
}

#endif
