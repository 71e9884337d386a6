# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The one HTTP client of the node-side code.

Standard library only.  ``get()`` makes one GET request (no redirects followed, TLS certificates
not verified: the question is what the server answers, not who it is), with an optional Host header,
and returns what came back or the error, never raising for a network failure.  ``idle_close()``
measures how long a backend keeps an idle keep-alive connection open after answering;
``answers_websocket()`` whether a backend accepts a WebSocket handshake.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import errno
import os
import http.client
import select
import socket
import ssl
import time
from urllib.parse import urlsplit

# response headers worth reporting: they tell who answered (nginx, a CDN, a proxy in front)
SHOWN_HEADERS = ('Server', 'Via', 'X-Cache', 'CF-RAY', 'X-Served-By', 'Content-Type')
BODY_LIMIT = 65536


def get(url, timeout=5.0, host=None, user_agent='badgateway.nginx'):
    """GET url; return {url, status, reason, server, headers, header_bytes, latency_ms, error}."""
    result = {'url': url, 'status': None, 'reason': None, 'server': None, 'headers': {}, 'header_bytes': None,
              'error': None, 'latency_ms': None}
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        result['error'] = 'not an http(s) URL: %s (%s)' % (url, e)
        return result
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        result['error'] = 'not an http(s) URL: %s' % url
        return result
    if parts.scheme == 'https':
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    path = parts.path or '/'
    if parts.query:
        path += '?' + parts.query
    headers = {'User-Agent': user_agent, 'Connection': 'close'}
    if host:
        headers['Host'] = host
    start = time.time()
    try:
        conn.request('GET', path, headers=headers)
        resp = conn.getresponse()
        resp.read(BODY_LIMIT)
        result.update(status=resp.status, reason=resp.reason, server=resp.getheader('Server'),
                      header_bytes=len('HTTP/1.1 %s %s\r\n' % (resp.status, resp.reason))
                      + sum(len(k) + len(v) + 4 for k, v in resp.getheaders()) + 2)
        for name in SHOWN_HEADERS:
            if resp.getheader(name) is not None:
                result['headers'][name] = resp.getheader(name)
    except (socket.error, OSError, http.client.HTTPException, ValueError) as e:
        result['error'] = '%s: %s' % (type(e).__name__, getattr(e, 'strerror', None) or e)
    finally:
        result['latency_ms'] = round((time.time() - start) * 1000, 1)
        conn.close()
    return result


def idle_close(host, port, wait, timeout=3.0, host_header=None, user_agent='badgateway.nginx'):
    """How long host:port keeps an idle HTTP/1.1 keep-alive connection open after it answered.

    One GET / with ``Connection: keep-alive`` (the request nginx's upstream keepalive makes), its answer
    read, then the connection left idle for at most ``wait`` seconds.  Returns {host, port, result,
    idle_close_s, waited_s, status, error}; result is ``closed`` (the backend closed it: FIN),
    ``reset`` (RST), ``open`` (still open after wait), ``closes`` (the backend answered
    ``Connection: close``: it keeps nothing alive), or ``error`` (no answer: error says why).
    """
    result = {'host': host, 'port': port, 'result': None, 'idle_close_s': None, 'waited_s': None,
              'status': None, 'error': None}
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request('GET', '/', headers={'User-Agent': user_agent, 'Connection': 'keep-alive',
                                          'Host': host_header or ('[%s]:%s' % (host, port) if ':' in host else
                                                                  '%s:%s' % (host, port))})
        resp = conn.getresponse()
        if len(resp.read(BODY_LIMIT + 1)) > BODY_LIMIT:
            result.update(result='error', status=resp.status, error='the answer to GET / is over %d bytes' % BODY_LIMIT)
            return result
        result['status'] = resp.status
        if resp.will_close:
            result['result'] = 'closes'
            return result
        sock = conn.sock
        idle_since = time.time()
        while True:
            left = wait - (time.time() - idle_since)
            if left <= 0:
                result.update(result='open', waited_s=round(time.time() - idle_since, 3))
                return result
            readable, _w, _x = select.select([sock], [], [], left)
            if not readable:
                continue
            try:
                data = sock.recv(1)
            except (socket.error, OSError) as e:
                if getattr(e, 'errno', None) != errno.ECONNRESET:
                    raise
                data, closed = b'', 'reset'
            else:
                closed = 'closed'
            if data:
                result.update(result='error', error='the backend sent data on an idle connection')
                return result
            elapsed = round(time.time() - idle_since, 3)
            result.update(result=closed, idle_close_s=elapsed, waited_s=elapsed)
            return result
    except (socket.error, OSError, http.client.HTTPException, ValueError) as e:
        result.update(result='error', error='%s: %s' % (type(e).__name__, getattr(e, 'strerror', None) or e))
        return result
    finally:
        conn.close()


def answers_websocket(url, timeout=3.0, host=None, user_agent='badgateway.nginx'):
    """Whether the backend at url (http only) switches to WebSocket on a handshake (101), False when it answers
    anything else, None when it does not answer. The connection is closed at once after the answer."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != 'http' or not parts.hostname:
        return None
    conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    headers = {'User-Agent': user_agent, 'Upgrade': 'websocket', 'Connection': 'Upgrade', 'Sec-WebSocket-Version': '13',
               'Sec-WebSocket-Key': base64.b64encode(os.urandom(16)).decode()}
    if host:
        headers['Host'] = host
    try:
        conn.request('GET', parts.path or '/', headers=headers)
        return conn.getresponse().status == 101
    except (socket.error, OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()
