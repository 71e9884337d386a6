# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The parts of docs/causes.md that belong to no single cause (its introduction and its closing words)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

HEADER = r'''
# The causes badgateway.nginx recognises

This is the collection's own catalog of why nginx answers **502 Bad Gateway** or **504 Gateway
Timeout**: each cause with the evidence that identifies it, how the diagnosis decides it, and what
fixes it. Every finding of the diagnosis (`badgateway.nginx.nginx_report`, run by the `nginx_diagnose` role)
carries one of these ids (see [report.md](report.md) for the finding's fields).

This file is generated from the cause registry (`plugins/plugin_utils/_causes/`, one module per
cause) by `python scripts/causes-doc.py`; a unit test fails when it is out of date.

A 502 means nginx accepted the request but got no valid response from the upstream it passes to; a
504 means the upstream was reached but did not answer in time. The method is the field guides': prove
that nginx generated the error, read the exact error-log line, then check the one thing that line
points at. Message texts are those of nginx 1.18-1.26 and PHP-FPM 7.4-8.3, matched tolerantly (errno
text, pool name, numbers and the trailing `, client: ..., upstream: "..."` vary).
'''

AUDIT = r'''
## Latent risks: what the audit reports

The audit (`badgateway.nginx.audit`, role `nginx_audit`) runs on a fleet where nothing fails yet and
reports what will fail under load, after a restart or after an idle gap: each with its evidence, the
file and line, a severity and the role that would fix it. It runs the checks below, the audit's own and
the configuration stage of the diagnosis (`nginx -t` failing, on a name it cannot resolve or otherwise,
and files the running nginx did not load), changes nothing, and is safe in check mode. A cause the
diagnosis decides from log lines (`keepalive_race`) is judged here from the configuration and one
measurement; the failures in the logs are the diagnosis' and are not read here. A finding's severity is
its check's, except where a check says otherwise (a WebSocket route without Upgrade is a warning, a
header already over the buffer critical, a variable pass without resolver a warning).
'''

FOOTER = r'''
Proxy settings a modern reverse proxy is expected to carry, applied on request by role
`proxy_headers`: `proxy_set_header Host $host`, `X-Real-IP $remote_addr`, `X-Forwarded-For
$proxy_add_x_forwarded_for`, `X-Forwarded-Proto $scheme`, `proxy_http_version 1.1`, and for WebSocket
routes `Upgrade $http_upgrade` with `Connection` taken from a `map` on `$http_upgrade`.

Every change is made the same way: keep a copy of what is there, change the smallest thing, `nginx -t`,
reload (never restart) nginx, verify that the routes answer and that no new upstream error appears in
the log, and if any step fails put back exactly what was there, reload, and keep the failing version
and the log lines for the report. `nginx -t` proves syntax only, never that an upstream works.
'''
