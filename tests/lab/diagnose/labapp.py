# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small application server for the lab, with faults on demand.

    labapp.py MODE PORT [ADDRESS]

MODE: ok (200 "labapp PORT ok"), slow (answers after LABAPP_DELAY seconds, default 5),
close (reads the request, then closes the connection without answering),
bigheader (a 32 KiB response header), cdn502 (a CDN edge answering
502 Bad Gateway with "Server: cloudflare"), websocket (answers a WebSocket handshake, HTTP/1.1
with Upgrade: websocket and Connection: upgrade, with 101 and the X-Real-IP it was sent, anything
else with 400), idleclose (HTTP/1.1 keep-alive, GET and POST answered 200; a connection idle for LABAPP_IDLE
seconds, default 1, is closed LABAPP_LAG seconds later, default 0.5, without reading what came in meanwhile: a
backend whose idle timeout is shorter than nginx's upstream keepalive_timeout, busy when its timer fires).
Standard library only.
"""

import base64
import hashlib
import http.server
import os
import select
import socket
import socketserver
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    mode = 'ok'

    def handle(self):
        if self.mode != 'idleclose':
            super().handle()
            return
        # serve the requests of the connection; once it is idle for LABAPP_IDLE seconds, close it LAG seconds late
        idle = float(os.environ.get('LABAPP_IDLE', '1'))
        lag = float(os.environ.get('LABAPP_LAG', '0.5'))
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            readable, _w, _x = select.select([self.connection], [], [], idle)
            if not readable:
                time.sleep(lag)
                return
            self.handle_one_request()

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(length)
        self.do_GET()

    def version_string(self):
        return 'cloudflare' if self.mode == 'cdn502' else 'labapp'

    def do_GET(self):  # noqa: N802
        if self.mode == 'cdn502':
            body = b'<html><body>502 Bad Gateway (edge)</body></html>\n'
            self.send_response(502)
            self.send_header('CF-RAY', '8a1b2c3d4e5f6a7b-AMS')
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.mode == 'websocket':
            upgrade = (self.headers.get('Upgrade') or '').lower() == 'websocket'
            connection = 'upgrade' in (self.headers.get('Connection') or '').lower()
            if not (upgrade and connection and self.request_version == 'HTTP/1.1'):
                body = b'not a websocket handshake\n'
                self.send_response(400)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            key = (self.headers.get('Sec-WebSocket-Key') or '').encode()
            accept = base64.b64encode(hashlib.sha1(key + b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest()).decode()
            self.send_response(101)
            self.send_header('Upgrade', 'websocket')
            self.send_header('Connection', 'Upgrade')
            self.send_header('Sec-WebSocket-Accept', accept)
            self.send_header('X-Seen-Real-IP', self.headers.get('X-Real-IP') or '-')
            self.end_headers()
            self.close_connection = True
            return
        if self.mode == 'close':
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.mode == 'slow':
            time.sleep(float(os.environ.get('LABAPP_DELAY', '5')))
        body = ('labapp %s %s %s\n' % (self.server.server_address[1], self.mode, self.path)).encode()
        self.send_response(200)
        if self.mode == 'bigheader':
            self.send_header('X-Big', 'x' * 32768)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write('%s %s\n' % (self.address_string(), fmt % args))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    address = sys.argv[3] if len(sys.argv) > 3 else '0.0.0.0'
    Handler.mode = mode
    if mode == 'idleclose':
        Handler.protocol_version = 'HTTP/1.1'
    srv = Server((address, port), Handler)
    srv.serve_forever()


if __name__ == '__main__':
    main()
