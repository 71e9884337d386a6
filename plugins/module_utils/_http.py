# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The one HTTP client of the node-side code.

Standard library only.  ``get()`` makes one GET request (no redirects followed, TLS certificates
not verified: the question is what the server answers, not who it is), with an optional Host header,
and returns what came back or the error, never raising for a network failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
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
