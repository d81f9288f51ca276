#!/usr/bin/env python3
"""A webhook receiver for tests/api/webhooks.bats.

webhook_receiver.py PORT_FILE LOG_FILE [FAILURES]

Listens on 127.0.0.1 on a free port, written to PORT_FILE once it listens.
Each POST is answered 500 the first FAILURES times (default 3) its
X-CRM-Delivery is seen, then 204; every request is appended to LOG_FILE as
one JSON line: {"delivery", "status" (the answer), "headers" (lower-case
names), "body" (the raw body, as text)}. Runs until killed.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, LOG_FILE = sys.argv[1], sys.argv[2]
FAILURES = int(sys.argv[3]) if len(sys.argv) > 3 else 3
seen = {}
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        delivery = self.headers.get("X-CRM-Delivery", "")
        with lock:
            seen[delivery] = seen.get(delivery, 0) + 1
            status = 500 if seen[delivery] <= FAILURES else 204
            with open(LOG_FILE, "a", encoding="utf-8") as log:
                log.write(json.dumps({
                    "delivery": delivery,
                    "status": status,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8"),
                }, ensure_ascii=False) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
