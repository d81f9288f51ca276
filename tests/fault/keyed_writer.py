#!/usr/bin/env python3
"""Creates interactions one after another, each with its own Idempotency-Key,
retrying a key with the same body until it is settled, as a careful client
would while the database goes away and comes back.

    keyed_writer.py URL TOKEN PREFIX COUNT BODY_TEMPLATE LOG [SECONDS]

BODY_TEMPLATE is the JSON body with "@KEY@" where the key goes (the key is
put in the summary, so that the rows of a key can be counted). Key i is
PREFIX-i. A key is settled by a 2xx (acknowledged) or by a 409 "carried out"
(the write committed, its answer lost); a 503 is retried (after 50 ms, a
client's pause), anything else is recorded and the key given up. Each
attempt appends one line to LOG:

    attempt KEY STATUS CONTENT_TYPE REPLAYED ID

and each settled or abandoned key one line

    final KEY STATUS ID

Gives up after SECONDS (default 60): the keys left have no final line.
"""
import http.client
import json
import sys
import time
import urllib.parse


def main():
    url, token, prefix, count, template, log = sys.argv[1:7]
    seconds = float(sys.argv[7]) if len(sys.argv) > 7 else 60.0
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + seconds
    out = open(log, "a", buffering=1)
    conn = None
    for i in range(1, int(count) + 1):
        key = "%s-%d" % (prefix, i)
        body = template.replace("@KEY@", key).encode()
        while True:
            if time.monotonic() > deadline:
                return 1
            status, ctype, replayed, rid = 0, "-", "-", "-"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request("POST", "/api/v1/interactions", body=body, headers={
                    "Authorization": "Bearer " + token,
                    "Content-Type": "application/json",
                    "Idempotency-Key": key})
                r = conn.getresponse()
                data = r.read()
                status = r.status
                ctype = r.getheader("Content-Type", "-").split(";")[0]
                replayed = r.getheader("Idempotent-Replayed", "-")
                if 200 <= status < 300:
                    rid = str(json.loads(data)["id"])
                elif status == 409:
                    detail = json.loads(data).get("detail", "")
                    rid = "carried-out" if "carried out" in detail else "running"
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException, ValueError):
                if conn is not None:
                    conn.close()
                conn = None
            out.write("attempt %s %d %s %s %s\n" % (key, status, ctype, replayed, rid))
            if 200 <= status < 300 or (status == 409 and rid == "carried-out"):
                out.write("final %s %d %s\n" % (key, status, rid))
                break
            if status in (0, 503) or (status == 409 and rid == "running"):
                time.sleep(0.05)
                continue
            out.write("final %s %d %s\n" % (key, status, rid))
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
