/*
 * Unit tests of db/pool against databases that go silent (issue 12, finding
 * 8), on a real event loop with the pool's own deadlines set:
 *
 * - a TCP peer that accepts and never says a word: the connection is given
 *   up at the connect deadline (PQconnectPoll alone would wait forever), the
 *   waiting job fails with DB_FAIL_CONNECTION then rather than at the queue
 *   timeout, the pool says DB_HEALTH_NOT_ANSWERING and new jobs fail at once;
 * - a fake PostgreSQL that completes the start-up and the prepares, then
 *   stops answering: the job fails at the job deadline, not later; and the
 *   connection's socket has the TCP keepalives the pool asked for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_clock_net.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "db/pool.h"

static const struct db_statement silent_statements[] = {{"one", "SELECT 1"}};

struct outcome {
    int called;
    enum db_failure failure;
    long long at_ms;
    struct event_base *base;
};

static void silent_on_done(void *arg, struct db_result *r)
{
    struct outcome *o = arg;
    o->called++;
    o->failure = r->failure;
    o->at_ms = test_now_ms();
    event_base_loopbreak(o->base);
}

static struct db_job *silent_job(struct outcome *o)
{
    struct db_job *job = db_job_new(silent_on_done, o);
    assert_non_null(job);
    assert_int_equal(db_job_add(job, 0, 0, NULL), 0);
    return job;
}

/* Runs base until a callback breaks it or ms pass. */
static void silent_run(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void silent_config(struct db_pool_config *cfg, const char *conninfo)
{
    *cfg = (struct db_pool_config){.conninfo = conninfo,
                                   .size = 1,
                                   .pipeline_depth = 4,
                                   .queue_max = 16,
                                   .queue_timeout_ms = 10000,
                                   .statement_timeout_ms = 60000,
                                   .reconnect_ms = 100,
                                   .job_timeout_ms = 400,
                                   .connect_timeout_ms = 300,
                                   .keepalive_s = 5};
}

static void test_connect_deadline(void **state)
{
    (void)state;
    int port;
    int lfd = test_loopback_listen(&port); /* never accepted: the kernel completes the handshake */
    char conninfo[160];
    snprintf(conninfo, sizeof conninfo,
             "host=127.0.0.1 port=%d dbname=x user=y sslmode=disable gssencmode=disable", port);
    struct db_pool_config cfg;
    silent_config(&cfg, conninfo);
    struct event_base *base = event_base_new();
    struct db_pool_stats stats = {0};
    struct db_pool *pool = db_pool_new(base, &cfg, silent_statements, 1, &stats);
    assert_non_null(pool);

    struct outcome o = {.base = base};
    long long start = test_now_ms();
    db_submit(pool, silent_job(&o));
    silent_run(base, 3000);
    assert_int_equal(o.called, 1);
    assert_int_equal(o.failure, DB_FAIL_CONNECTION);
    /* At the connect deadline (300 ms, a 50 ms tick), far before the
     * queue timeout (10 s). */
    assert_true(o.at_ms - start >= 250);
    assert_true(o.at_ms - start < 1500);
    assert_int_equal(db_pool_health(pool), DB_HEALTH_NOT_ANSWERING);

    /* While nothing is live, a new job fails at once. */
    struct outcome o2 = {.base = base};
    db_submit(pool, silent_job(&o2));
    assert_int_equal(o2.called, 1);
    assert_int_equal(o2.failure, DB_FAIL_CONNECTION);

    db_pool_free(pool);
    event_base_free(base);
    close(lfd);
}

/* ---- a fake PostgreSQL that goes silent after the prepares ---- */

struct fake_pg {
    int lfd;
    int fd;
    int answered;     /* Syncs answered */
    int silent_after; /* Syncs answered before going silent */
};

static int read_full(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Accepts one client, completes its start-up (trust), answers Parse with
 * ParseComplete and Sync with ReadyForQuery until silent_after Syncs, then
 * reads and drops everything. */
static void *fake_pg_main(void *arg)
{
    struct fake_pg *f = arg;
    f->fd = accept(f->lfd, NULL, NULL);
    if (f->fd < 0)
        return NULL;
    unsigned char len4[4], buf[8192];
    if (read_full(f->fd, len4, 4) != 0)
        return NULL;
    uint32_t len = ntohl(*(uint32_t *)len4);
    if (len < 8 || len - 4 > sizeof buf || read_full(f->fd, buf, len - 4) != 0)
        return NULL;
    static const unsigned char hello[] = {'R', 0, 0, 0, 8, 0, 0, 0, 0, 'Z', 0, 0, 0, 5, 'I'};
    if (write(f->fd, hello, sizeof hello) != (ssize_t)sizeof hello)
        return NULL;
    for (;;) {
        unsigned char type;
        if (read_full(f->fd, &type, 1) != 0 || read_full(f->fd, len4, 4) != 0)
            return NULL;
        len = ntohl(*(uint32_t *)len4);
        if (len < 4 || len - 4 > sizeof buf || read_full(f->fd, buf, len - 4) != 0)
            return NULL;
        if (f->answered >= f->silent_after)
            continue;
        static const unsigned char parsed[] = {'1', 0, 0, 0, 4};
        static const unsigned char ready[] = {'Z', 0, 0, 0, 5, 'I'};
        if (type == 'P' && write(f->fd, parsed, sizeof parsed) != (ssize_t)sizeof parsed)
            return NULL;
        if (type == 'S') {
            if (write(f->fd, ready, sizeof ready) != (ssize_t)sizeof ready)
                return NULL;
            f->answered++;
        }
    }
}

/* This process's TCP socket connected to 127.0.0.1:port, or -1. */
static int silent_client_socket(int port)
{
    for (int fd = 3; fd < 1024; fd++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && peer.sin_family == AF_INET &&
            ntohs(peer.sin_port) == port)
            return fd;
    }
    return -1;
}

static void test_job_deadline(void **state)
{
    (void)state;
    int port;
    struct fake_pg f = {.fd = -1, .silent_after = 1}; /* answers the prepare job only */
    f.lfd = test_loopback_listen(&port);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, fake_pg_main, &f), 0);
    char conninfo[160];
    snprintf(conninfo, sizeof conninfo,
             "host=127.0.0.1 port=%d dbname=x user=y sslmode=disable gssencmode=disable", port);
    struct db_pool_config cfg;
    silent_config(&cfg, conninfo);
    cfg.connect_timeout_ms = 5000;
    struct event_base *base = event_base_new();
    struct db_pool_stats stats = {0};
    struct db_pool *pool = db_pool_new(base, &cfg, silent_statements, 1, &stats);
    assert_non_null(pool);

    /* Connected and prepared: ready. */
    long long deadline = test_now_ms() + 3000;
    while (atomic_load(&stats.ready) != 1 && test_now_ms() < deadline)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_int_equal(atomic_load(&stats.ready), 1);
    /* Its socket probes an idle peer: keepalive_s 5 -> idle 5 s, every 1 s,
     * 3 probes. */
    int client = silent_client_socket(port);
    assert_true(client >= 0);
    int on = 0, idle = 0, interval = 0, count = 0;
    socklen_t len = sizeof on;
    assert_int_equal(getsockopt(client, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
    assert_int_equal(getsockopt(client, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &len), 0);
    assert_int_equal(getsockopt(client, IPPROTO_TCP, TCP_KEEPINTVL, &interval, &len), 0);
    assert_int_equal(getsockopt(client, IPPROTO_TCP, TCP_KEEPCNT, &count, &len), 0);
    assert_int_equal(on, 1);
    assert_int_equal(idle, 5);
    assert_int_equal(interval, 1);
    assert_int_equal(count, 3);

    struct outcome o = {.base = base};
    long long start = test_now_ms();
    db_submit(pool, silent_job(&o));
    silent_run(base, 5000);
    assert_int_equal(o.called, 1);
    assert_int_equal(o.failure, DB_FAIL_CONNECTION);
    /* At the job deadline (400 ms), though the statement timeout is 60 s. */
    assert_true(o.at_ms - start >= 350);
    assert_true(o.at_ms - start < 1500);
    assert_int_equal(db_pool_health(pool), DB_HEALTH_NOT_ANSWERING);

    db_pool_free(pool);
    event_base_free(base);
    shutdown(f.lfd, SHUT_RDWR); /* ends a reconnection's accept, if any */
    close(f.lfd);
    if (f.fd >= 0)
        shutdown(f.fd, SHUT_RDWR);
    pthread_join(thread, NULL);
    if (f.fd >= 0)
        close(f.fd);
}

int main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_deadline),
        cmocka_unit_test(test_job_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
