#!/usr/bin/env python3
"""Slow clients: opens connections that send their request a byte at a time,
as a slowloris would, and notes when the server cuts each.

    slow_clients.py URL STATUS_FILE MODE SECONDS SOURCE:COUNT...

MODE "headers" sends a request's headers one byte per second (never ending
them); "body" sends whole headers of a POST announcing 100000 bytes, then
the body one byte per second. Runs until the server has cut every
connection or SECONDS have passed, rewriting STATUS_FILE every 50 ms with

    opened=N cut=N open=N failed=N max_cut_s=S

where max_cut_s is the longest a connection lived before the server cut it
(end of file, reset or a refused write).
"""
import os
import select
import socket
import sys
import time
import urllib.parse


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    status, mode, seconds = sys.argv[2], sys.argv[3], float(sys.argv[4])
    plan = [(a.split(":")[0], int(a.split(":")[1])) for a in sys.argv[5:]]
    if mode == "headers":
        head = b""
        data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200)
    else:
        head = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n")
        data = b"{" + b" " * 100000
    conns, opened, failed, cut, max_cut = {}, 0, 0, 0, 0.0
    for src, count in plan:
        for _ in range(count):
            s = socket.socket()
            s.settimeout(1)
            try:
                s.bind((src, 0))
                s.connect((url.hostname, url.port))
                if head:
                    s.sendall(head)
                s.setblocking(False)
                conns[s] = [time.monotonic(), 0]
                opened += 1
            except OSError:
                failed += 1
                s.close()

    def write():
        tmp = status + ".tmp"
        with open(tmp, "w") as f:
            f.write("opened=%d cut=%d open=%d failed=%d max_cut_s=%.1f\n"
                    % (opened, cut, len(conns), failed, max_cut))
        os.replace(tmp, status)

    end = time.monotonic() + seconds
    next_byte = time.monotonic()
    while conns and time.monotonic() < end:
        write()
        now = time.monotonic()
        gone = []
        if now >= next_byte:
            next_byte = now + 1.0
            for s, st in conns.items():
                try:
                    s.send(data[st[1]:st[1] + 1])
                    st[1] += 1
                except OSError:
                    gone.append(s)
        readable, _, _ = select.select(list(conns), [], [], 0.05)
        for s in readable:
            try:
                if not s.recv(65536):
                    gone.append(s)
            except BlockingIOError:
                pass
            except OSError:
                gone.append(s)
        for s in set(gone):
            max_cut = max(max_cut, time.monotonic() - conns[s][0])
            cut += 1
            del conns[s]
            s.close()
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
