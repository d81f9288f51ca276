/*
 * Unit test of db/pool (issue 12, finding 9): a database host name is never
 * looked up on the event loop. This program defines getaddrinfo itself (the
 * pool's calls and libpq's resolve to it), so it sees every lookup and the
 * thread it runs on. The name fails to resolve at start-up, as when DNS is
 * briefly down; the pool then keeps reconnecting on its loop (nothing
 * listens at the address), and no lookup of the name may happen on that
 * thread: they must run on the offload threads, libpq being handed the
 * address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/offload.h"
#include "db/pool.h"

#define DNS_TEST_NAME "db.crm-test.invalid"

static pthread_t dns_loop_thread;
static atomic_int dns_watching;         /* the pool exists: its loop may run */
static atomic_int dns_on_loop;          /* lookups of the name on the loop's thread */
static atomic_int dns_off_loop;         /* and on other threads */
static atomic_int dns_lookups;          /* of the name, all together */
static atomic_int dns_numeric;          /* lookups of 127.0.0.1 (libpq given the address) */
static const char dns_magic[] = "fake"; /* marks the answers made here */

/* The name's answer: 127.0.0.1, port from service. */
static int dns_fake_answer(const char *service, struct addrinfo **res)
{
    struct {
        struct addrinfo ai;
        struct sockaddr_in sa;
    } *a = calloc(1, sizeof *a);
    if (!a)
        return EAI_MEMORY;
    a->sa.sin_family = AF_INET;
    a->sa.sin_port = htons((uint16_t)(service ? atoi(service) : 0));
    a->sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->ai.ai_family = AF_INET;
    a->ai.ai_socktype = SOCK_STREAM;
    a->ai.ai_addrlen = sizeof a->sa;
    a->ai.ai_addr = (struct sockaddr *)&a->sa;
    a->ai.ai_canonname = (char *)dns_magic;
    *res = &a->ai;
    return 0;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    if (node && strcmp(node, DNS_TEST_NAME) == 0) {
        int n = atomic_fetch_add(&dns_lookups, 1);
        if (atomic_load(&dns_watching)) {
            if (pthread_equal(pthread_self(), dns_loop_thread))
                atomic_fetch_add(&dns_on_loop, 1);
            else
                atomic_fetch_add(&dns_off_loop, 1);
        }
        if (n == 0)
            return EAI_AGAIN; /* at start-up: DNS is down for a moment */
        return dns_fake_answer(service, res);
    }
    if (node && strcmp(node, "127.0.0.1") == 0)
        atomic_fetch_add(&dns_numeric, 1);
    int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **) =
        (int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))dlsym(
            RTLD_NEXT, "getaddrinfo");
    return real(node, service, hints, res);
}

void freeaddrinfo(struct addrinfo *res)
{
    if (res && res->ai_canonname == dns_magic) {
        free(res);
        return;
    }
    void (*real)(struct addrinfo *) = (void (*)(struct addrinfo *))dlsym(RTLD_NEXT, "freeaddrinfo");
    real(res);
}

static void test_no_lookup_on_the_loop(void **state)
{
    (void)state;
    /* A port where nothing listens: each attempt is refused at once, and
     * a refused attempt asks for the name again (it may have moved). */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char conninfo[160];
    snprintf(conninfo, sizeof conninfo,
             "host=" DNS_TEST_NAME " port=%d dbname=x user=y sslmode=disable gssencmode=disable",
             ntohs(a.sin_port));
    close(fd);

    static const struct db_statement statements[] = {{"one", "SELECT 1"}};
    struct db_pool_config cfg = {.conninfo = conninfo,
                                 .size = 2,
                                 .pipeline_depth = 4,
                                 .queue_max = 16,
                                 .queue_timeout_ms = 1000,
                                 .statement_timeout_ms = 1000,
                                 .reconnect_ms = 50,
                                 .connect_timeout_ms = 1000};
    dns_loop_thread = pthread_self();
    struct event_base *base = event_base_new();
    struct db_pool_stats stats = {0};
    struct db_pool *pool = db_pool_new(base, &cfg, statements, 1, &stats);
    assert_non_null(pool);
    /* The start-up lookup (failed) ran here, before the loop: allowed. */
    int at_start = atomic_load(&dns_lookups);
    atomic_store(&dns_watching, 1);

    struct timeval run = {1, 0};
    event_base_loopexit(base, &run);
    event_base_dispatch(base);
    atomic_store(&dns_watching, 0);
    db_pool_free(pool);
    event_base_free(base);
    offload_stop();

    fprintf(stderr,
            "lookups of the name: %d creating the pool, then %d on the loop, %d off it; "
            "of the address: %d\n",
            at_start, atomic_load(&dns_on_loop), atomic_load(&dns_off_loop),
            atomic_load(&dns_numeric));
    assert_int_equal(at_start, 1);
    assert_int_equal(atomic_load(&dns_on_loop), 0);
    /* The name was looked up again off the loop, and libpq was given the
     * address (it checks a numeric hostaddr with getaddrinfo). */
    assert_true(atomic_load(&dns_off_loop) >= 1);
    assert_true(atomic_load(&dns_numeric) >= 1);
}

int main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_lookup_on_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
