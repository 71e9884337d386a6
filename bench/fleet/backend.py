#!/usr/bin/env python
"""HTTP backend of a bench_fleet.py host: `backend.py PORT [DELAY]`.

Answers every GET with 200 "ok PORT" after DELAY seconds (default 0), one
thread per request, so that a slow backend makes nginx time out for real.
"""
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
DELAY = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(DELAY)
        body = ('ok %d\n' % PORT).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('0.0.0.0', PORT), Handler).serve_forever()
