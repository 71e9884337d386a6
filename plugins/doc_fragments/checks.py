# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The evidence options of nginx_probe and nginx_diagnose: one argument spec, module_utils/_host_checks.CHECK_OPTIONS.
    DOCUMENTATION = r'''
options:
  log_lines:
    description: At most this many lines are read from the end of each log.
    type: int
    default: 5000
  log_since:
    description:
      - Only lines written in the last this many seconds count (0 means no time limit).
      - The window (this and O(journal_dir)) holds for the kernel's OOM lines too. C(/var/log/kern.log) and
        C(/var/log/messages) lines are placed by their syslog or RFC 3339 time; C(dmesg) lines (seconds since
        boot) by the boot time in C(/proc/stat) (C(btime)) plus their stamp, which is what
        C(dmesg --time-format iso) prints. The kernel's clock stops while the host is suspended, so after a
        suspend a dmesg line is placed earlier than it was written (it can leave the window too early, never
        stay in it too long). When a window is set, a dmesg line that cannot be placed is left out.
    type: int
    default: 0
  redact_query:
    description: Replace query strings in sample log lines with C(REDACTED).
    type: bool
    default: true
  redact_client:
    description: Replace client addresses in sample log lines with C(REDACTED).
    type: bool
    default: false
  php_fpm:
    description: Look for PHP-FPM configurations, processes and logs.
    type: bool
    default: true
  firewall:
    description: Report the active firewalls and their rules.
    type: bool
    default: true
  resources:
    description: Report memory, OOM kills, load, disk and open files.
    type: bool
    default: true
  mac:
    description:
      - Report SELinux and AppArmor (mandatory access control) - their mode, the booleans that let nginx
        connect, the AppArmor profiles - and their denials about nginx in C(/var/log/audit/audit.log) and the
        kernel log, within the window of O(log_since).
    type: bool
    default: true
    version_added: 0.2.0
  keepalive_probe:
    description:
      - When to measure how long a backend keeps an idle keep-alive connection open (the evidence of the keepalive
        race). The node opens a connection to a member of an C(upstream) with C(keepalive) that a C(proxy_pass)
        location reaches over HTTP/1.1 with its C(Connection) header cleared, makes one C(GET /) asking to keep
        the connection alive, reads the answer and waits until the backend closes the connection, for at most
        the upstream's C(keepalive_timeout) (nginx's default 60s) and never more than 10 seconds.
      - C(on_errors) measures the members for which the error log holds C(upstream prematurely closed connection)
        or C(Connection reset by peer) lines (nothing is measured on a host without them), C(always) every such
        member (the audit), C(never) none. The members are measured at the same time, so the run takes at most
        10 seconds longer whatever their number.
      - Only with the configuration read on the host
        (O(badgateway.nginx.nginx_probe#module:discover=true), as M(badgateway.nginx.nginx_diagnose) runs it).
    type: str
    choices: [on_errors, always, never]
    default: on_errors
    version_added: 0.2.0
  header_probe:
    description:
      - Measure the response header each backend sends (the audit's check against C(proxy_buffer_size)) - one
        C(GET) per C(proxy_pass) route to a TCP backend, made from the host straight to the backend (the member of
        the upstream the route passes to), for the location's own path (a prefix location) or C(/), and one
        WebSocket handshake on the same URL (whether the route is a WebSocket one); at most 64 routes, at most 8
        at once, and only backends the connect probe reached.
      - Off by default - these are real requests to the applications. Only with the configuration read on the host
        (O(badgateway.nginx.nginx_probe#module:discover=true)).
    type: bool
    default: false
    version_added: 0.2.0
  urls:
    description:
      - HTTP(S) requests to make from the host, to see who answers and with what, and so to tell an nginx 502 from
        one of a CDN or proxy in front.
    type: list
    elements: dict
    default: []
    aliases: [http_checks]
    suboptions:
      url:
        description: The URL.
        type: str
        required: true
      host:
        description: Host header to send.
        type: str
  timeout:
    description:
      - Seconds a connect probe or an HTTP check may take.
      - A target found in the nginx configuration is given no longer than nginx itself waits to connect to it
        (the longest C(proxy_connect_timeout), C(fastcgi_connect_timeout)... of its routes) when that is shorter,
        since a connection that comes later fails for nginx too. The probe's C(timeout_s) says how long it waited.
      - The connect probes and HTTP checks run at the same time (at most 32 at once), while the logs, the
        firewall and PHP-FPM are read.
    type: float
    default: 3
  journal_dir:
    description:
      - The journal directory of M(badgateway.nginx.nginx_change). Log lines written before the last change
        it committed on this host (the time in C(last-commit) there) are not read, as they were written under a
        configuration that is no longer there and are not evidence about the current one. This holds for
        the nginx, PHP-FPM and kernel logs alike (see O(log_since)).
    type: path
    default: /var/lib/badgateway-nginx
'''
