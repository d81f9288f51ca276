/*
 * throttle: failed-login backoff per account and per client address.
 *
 * After `threshold` failures within the window, a key is blocked for
 * base * 2^(failures - threshold) seconds, capped at max_delay_s: a backoff,
 * never a permanent lockout, and a blocked attempt is answered without
 * checking the password (so it neither counts nor extends the block). Times
 * are milliseconds of a monotonic clock (throttle_now_ms): with whole seconds
 * a one-second block ended at the next tick of the clock, however soon after
 * the failure that was. A
 * success clears the key. Counters live in this process (a fixed table shared
 * by the workers under a mutex; the least recently failed entry is
 * forgotten first): several crm instances each count their own.
 */
#ifndef CRM_THROTTLE_H
#define CRM_THROTTLE_H

#include <stddef.h>
#include <time.h>

struct throttle_rule {
    int threshold;   /* failures before the first delay */
    int base_delay_s;
    int max_delay_s;
    int window_s;    /* failures older than this are forgotten */
};

/* Now, in milliseconds of the monotonic clock. */
long long throttle_now_ms(void);

/* Seconds the key must still wait, rounded up (0: go ahead). */
int throttle_wait(const struct throttle_rule *rule, const char *key, long long now_ms);

/* Records a failure for key. */
void throttle_fail(const struct throttle_rule *rule, const char *key, long long now_ms);

/* Clears key (a successful login). */
void throttle_clear(const char *key);

/* Forgets everything (tests). */
void throttle_reset(void);

#endif
