#!/usr/bin/env python3
"""An EventSource, as the tests need one: follows GET /api/v1/events with a
Bearer token and writes each event it receives as one JSON line (the
event's JSON plus "sse_id", the id line) to OUT, flushed at once. With
--reconnect it behaves as a browser's EventSource: when the stream ends or
the connection fails, it waits and connects again with Last-Event-ID set to
the last id received, and logs each connection to OUT.log. It stops on
SIGTERM, or after --seconds.

usage: sse_client.py BASE_URL TOKEN OUT [--last-event-id N] [--reconnect] [--seconds S]
"""
import http.client
import json
import signal
import sys
import time
import urllib.parse


def main():
    args = sys.argv[1:]
    base, token, out_path = args[0], args[1], args[2]
    last_id = None
    reconnect = "--reconnect" in args
    seconds = None
    if "--last-event-id" in args:
        last_id = args[args.index("--last-event-id") + 1]
    if "--seconds" in args:
        seconds = float(args[args.index("--seconds") + 1])
    deadline = time.monotonic() + seconds if seconds else None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    u = urllib.parse.urlparse(base)
    out = open(out_path, "a", buffering=1)
    log = open(out_path + ".log", "a", buffering=1)
    while True:
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            conn.request("GET", "/api/v1/events", headers=headers)
            resp = conn.getresponse()
            log.write("connected %d last_event_id=%s\n" % (resp.status, last_id))
            if resp.status != 200:
                resp.read()
                conn.close()
                if not reconnect:
                    return 1
                time.sleep(0.3)
                continue
            event_id, data, kind = None, [], None
            while True:
                if deadline and time.monotonic() > deadline:
                    return 0
                line = resp.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data and kind == "end":
                        log.write("end %s\n" % "\n".join(data))
                    elif data:
                        ev = json.loads("\n".join(data))
                        ev["sse_id"] = event_id
                        out.write(json.dumps(ev, ensure_ascii=False) + "\n")
                        if event_id is not None:
                            last_id = event_id
                    event_id, data, kind = None, [], None
                elif line.startswith(":"):
                    log.write("comment %s\n" % line)
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
                elif line.startswith("event:"):
                    kind = line[6:].strip()
            log.write("closed\n")
        except (OSError, http.client.HTTPException) as e:
            log.write("error %s\n" % e)
        if not reconnect or (deadline and time.monotonic() > deadline):
            return 0
        time.sleep(0.3)


if __name__ == "__main__":
    sys.exit(main())
