/*
 * listener: see listener.h.
 */
#include "http/listener.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"

/* How many ports the kernel may choose for port 0 before we give up: each
 * retry means another crm locked the chosen port for another address. */
#define LISTENER_PORT0_TRIES 16

/* Binds the lock of port. Returns the fd, or -1 (errno EADDRINUSE: another
 * crm holds it). */
static int listener_lock(int port)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    /* sun_path[0] stays '\0': the abstract namespace, no file anywhere. */
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "crm-listen-%d", port);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void listener_set_port(struct listener *l, int port)
{
    if (l->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&l->addr)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&l->addr)->sin_port = htons((uint16_t)port);
    l->port = port;
}

/* A socket bound to the listener's address; listening when listen_too.
 * SO_REUSEADDR always (a restart finds its port in TIME_WAIT), SO_REUSEPORT
 * when shared. Returns the fd, or -1 with errno of the step that failed. */
static int listener_bind(const struct listener *l, int shared, int listen_too)
{
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0 ||
        (listen_too && listen(fd, 1024) != 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int listener_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int listener_resolve(struct listener *l, const char *listen, char *err, size_t errlen)
{
    int port;
    if (config_split_listen(listen, l->host, sizeof l->host, &port) != 0) {
        snprintf(err, errlen, "listen: '%s' is not host:port", listen);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(*l->host ? l->host : NULL, portstr, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "listen: cannot resolve '%s': %s", l->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&l->addr, ai->ai_addr, ai->ai_addrlen);
    l->addrlen = ai->ai_addrlen;
    l->port = port;
    freeaddrinfo(ai);
    return 0;
}

/* A fixed port: its lock, then a probe without SO_REUSEPORT (which any
 * listener on the port refuses, shared or not), then the first socket. */
static int listener_open_port(struct listener *l, const char *listen, char *err, size_t errlen)
{
    if ((l->lock_fd = listener_lock(l->port)) < 0) {
        if (errno == EADDRINUSE)
            snprintf(err, errlen,
                     "%s is already served by another process (a crm serving port %d); stop it "
                     "or choose another --listen",
                     listen, l->port);
        else
            snprintf(err, errlen, "listen: %s: cannot lock the port: %s", listen, strerror(errno));
        return -1;
    }
    int probe = listener_bind(l, 0, 0);
    if (probe < 0) {
        if (errno == EADDRINUSE)
            snprintf(err, errlen, "%s is already in use by another program", listen);
        else
            snprintf(err, errlen, "listen: %s: %s", listen, strerror(errno));
        return -1;
    }
    close(probe);
    if ((l->fd = listener_bind(l, 1, 1)) < 0) {
        snprintf(err, errlen, "listen: %s: %s", listen, strerror(errno));
        return -1;
    }
    return 0;
}

/* Port 0: the kernel chooses a port no socket on this address uses, then we
 * lock it; when another crm holds that port (on another address), again. */
static int listener_open_any(struct listener *l, const char *listen, char *err, size_t errlen)
{
    for (int i = 0; i < LISTENER_PORT0_TRIES; i++) {
        listener_set_port(l, 0);
        int fd = listener_bind(l, 1, 1);
        int port = fd >= 0 ? listener_bound_port(fd) : -1;
        if (port <= 0) {
            snprintf(err, errlen, "listen: %s: %s", listen, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        if ((l->lock_fd = listener_lock(port)) >= 0) {
            listener_set_port(l, port);
            l->fd = fd;
            return 0;
        }
        int e = errno;
        close(fd);
        if (e != EADDRINUSE) {
            snprintf(err, errlen, "listen: %s: cannot lock the port: %s", listen, strerror(e));
            return -1;
        }
    }
    snprintf(err, errlen, "listen: %s: every port the system chose was locked by another crm",
             listen);
    return -1;
}

int listener_open(struct listener *l, const char *listen, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    l->lock_fd = -1;
    l->fd = -1;
    int rc = listener_resolve(l, listen, err, errlen);
    if (rc == 0)
        rc = l->port ? listener_open_port(l, listen, err, errlen)
                     : listener_open_any(l, listen, err, errlen);
    if (rc != 0)
        listener_close(l);
    return rc;
}

int listener_add(const struct listener *l)
{
    return listener_bind(l, 1, 1);
}

int listener_take(struct listener *l)
{
    int fd = l->fd;
    l->fd = -1;
    return fd;
}

char *listener_url(const struct listener *l, char *out, size_t outlen)
{
    int v6 = strchr(l->host, ':') != NULL;
    snprintf(out, outlen, "http://%s%s%s:%d", v6 ? "[" : "", l->host, v6 ? "]" : "", l->port);
    return out;
}

void listener_close(struct listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    l->lock_fd = -1;
}
