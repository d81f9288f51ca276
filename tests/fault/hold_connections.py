#!/usr/bin/env python3
"""Opens many idle TCP connections to a server and holds them, as a client
exhausting the server's descriptors would.

    hold_connections.py URL STATUS_FILE SOURCE:COUNT...

opens COUNT connections from each local SOURCE address (127.0.0.2, ...: any
address of the loopback network reaches a server on 127.0.0.1) to URL's host
and port, sending nothing. Then, every 50 ms until SIGTERM (or 120 s),
rewrites STATUS_FILE with one line

    opened=N open=N closed=N failed=N

where opened counts the connections established, closed those the server has
closed since (end of file or reset), open the rest, and failed the connection
attempts that did not succeed within a second. A test polls that line.
"""
import os
import select
import signal
import socket
import sys
import time
import urllib.parse


def write_status(path, opened, socks, closed, failed):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("opened=%d open=%d closed=%d failed=%d\n" % (opened, len(socks), closed, failed))
    os.replace(tmp, path)


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    status = sys.argv[2]
    plan = [(a.split(":")[0], int(a.split(":")[1])) for a in sys.argv[3:]]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    socks, opened, closed, failed = {}, 0, 0, 0
    for source, count in plan:
        for _ in range(count):
            try:
                s = socket.create_connection((url.hostname, url.port), timeout=1,
                                             source_address=(source, 0))
                s.setblocking(False)
                socks[s.fileno()] = s
                opened += 1
            except OSError:
                failed += 1
    poller = select.poll()
    for fd in socks:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    deadline = time.monotonic() + 120
    while not stop and time.monotonic() < deadline:
        for fd, _ in poller.poll(0):
            s = socks.get(fd)
            if s is None:
                continue
            try:
                gone = s.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                poller.unregister(fd)
                del socks[fd]
                s.close()
                closed += 1
        write_status(status, opened, socks, closed, failed)
        time.sleep(0.05)
    for s in socks.values():
        s.close()


if __name__ == "__main__":
    main()
