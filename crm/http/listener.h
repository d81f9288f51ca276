/*
 * listener: the address crm serves on, held by one crm process at a time.
 *
 * The workers of one process share the port with SO_REUSEPORT, which would
 * as gladly let a second crm join the port and take half of its traffic. So
 * the port is locked first: an abstract AF_UNIX socket named
 * "crm-listen-<port>" is bound for the life of the process. Abstract names
 * belong to the network namespace, as ports do, and the kernel releases them
 * when the process ends, however it ends; the lock is close-on-exec, so the
 * programs crm starts (pg_ctl, the embedded PostgreSQL) never inherit it.
 * A program that is not crm is found by a probe bound without SO_REUSEPORT.
 * Port 0 binds first and locks the port the kernel chose.
 *
 * Ownership: a listener owns its lock and its first listening socket, until
 * listener_take hands the socket over; listener_close releases the rest.
 */
#ifndef CRM_LISTENER_H
#define CRM_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

struct listener {
    char host[256];               /* as given, without IPv6 brackets */
    int port;                     /* the port bound: the one chosen when asked for 0 */
    struct sockaddr_storage addr; /* host:port, resolved once */
    socklen_t addrlen;
    int lock_fd; /* the abstract socket "crm-listen-<port>" */
    int fd;      /* the first listening socket; -1 once taken */
};

/* Locks the port of listen ("host:port", "[v6]:port") and binds the first
 * listening socket with SO_REUSEPORT. Returns 0, or -1 with err filled ("...
 * is already served by another process" when another crm holds the port, "...
 * is already in use by another program" when something else listens there)
 * and nothing held. */
int listener_open(struct listener *l, const char *listen, char *err, size_t errlen);

/* One more listening socket on the same address and port, with SO_REUSEPORT,
 * for another worker; the caller owns it. Returns the fd, or -1 (errno). */
int listener_add(const struct listener *l);

/* Hands the first listening socket to the caller, who then owns it. Returns
 * the fd, or -1 when it was already taken. */
int listener_take(struct listener *l);

/* The URL the listener serves ("http://127.0.0.1:8080", "http://[::1]:8080")
 * into out. Returns out. */
char *listener_url(const struct listener *l, char *out, size_t outlen);

/* Closes the first socket if still held, then releases the lock. Safe to
 * call on a listener that failed to open, and twice. */
void listener_close(struct listener *l);

#endif
