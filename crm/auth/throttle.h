/*
 * throttle: failed-login backoff per account and per client address.
 *
 * After `threshold` failures within the window, a key is blocked for
 * base * 2^(failures - threshold) seconds, capped at max_delay_s: a backoff,
 * never a permanent lockout, and a blocked attempt is answered without
 * checking the password (so it neither counts nor extends the block). Times
 * are milliseconds of a monotonic clock (clock_monotonic_ms, core/clock.h): with whole seconds
 * a one-second block ended at the next tick of the clock, however soon after
 * the failure that was. Attempts are counted before they are checked
 * (throttle_attempt), and forgiven when they succeed; a success clears the
 * key and is remembered (throttle_known). Counters live in this process (a
 * fixed table shared by the workers under a mutex; the least recently
 * failed entry is forgotten first): several crm instances each count their
 * own.
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

/* An attempt, counted before it is checked: in one step under the lock,
 * the seconds key must still wait (nothing counted), or 0 after counting
 * the attempt as a failure. Parallel attempts therefore cannot all pass the
 * check before any of them has failed; one that succeeds is forgiven. */
int throttle_attempt(const struct throttle_rule *rule, const char *key, long long now_ms);

/* Takes back one failure counted for key (an attempt that succeeded, or
 * could not be checked). */
void throttle_forgive(const char *key);

/* Clears key's failures (a successful login) and remembers the success: a
 * key that succeeded within window_s is throttle_known. */
void throttle_clear(const char *key);
void throttle_succeed(const char *key, long long now_ms);
int throttle_known(const char *key, long long now_ms, int window_s);

/* Forgets everything (tests). */
void throttle_reset(void);

#endif
