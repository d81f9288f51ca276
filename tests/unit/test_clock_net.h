/*
 * test_clock_net: what several unit tests need of the clock and of loopback
 * TCP, in one place. Include after <cmocka.h> (it asserts).
 */
#ifndef CRM_TEST_CLOCK_NET_H
#define CRM_TEST_CLOCK_NET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"

/* Monotonic milliseconds, as crm's own clock gives them. */
static inline long long test_now_ms(void)
{
    return clock_monotonic_ms();
}

/* A listening socket on 127.0.0.1, its port in *port: a peer that accepts
 * (the kernel does) and never answers. */
static inline int test_loopback_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

#endif
