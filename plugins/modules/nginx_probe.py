#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nginx_probe
short_description: Collect the evidence of a 502/504 on a host in one run (listeners, probes, sockets, firewall, logs)
version_added: 0.1.0
description:
  - Runs every node-side check of the diagnosis in one module execution, with the Python standard
    library only, and changes nothing.
  - Listening TCP (IPv4, IPv6) and unix stream sockets from C(/proc/net), with the owning process,
    user and systemd unit.
  - A connect probe to each given target, classified as ok, refused, timeout, no_route, unreachable,
    no_such_file, permission_denied, unavailable (EAGAIN) or unresolvable, with latency.
  - For unix sockets, whether the nginx worker user can connect (owner, group, mode, and the search
    bit of every parent directory), confirmed by connecting as that user when the module runs as root.
  - Which firewall is active (nftables, iptables-nft, iptables-legacy, firewalld, ufw) and its rules.
  - The window of each error log that matters, read from the end, classified into the catalog,
    grouped with counts, first and last seen, and a few sample lines.
  - PHP-FPM pools (following C(include=) globs), their processes' memory, and PHP-FPM's log.
  - Memory, kernel OOM kills, load against cores, free disk, nginx processes' open files against
    their limit, and optional HTTP checks that tell an nginx 502 from a CDN's.
  - Normally called by M(badgateway.nginx.nginx_diagnose) with O(discover=true); the module then also
    reads the nginx configuration on the host (as M(badgateway.nginx.nginx_facts) does), finds the
    targets, error logs and worker user in it with the collection's own parser, and probes them in the
    same run (one module execution per host); it returns the raw configuration for the controller,
    which builds the facts and the findings.
options:
  discover:
    description:
      - Read the nginx configuration here and add every target it passes to (C(*_pass) targets and the
        members of the upstreams they name), its error logs and its worker user and group to what is checked.
      - The result then carries C(nginx_raw) (the configuration as nginx read it, for
        M(badgateway.nginx.nginx_facts)'s controller side) and, on a host without nginx, C(nginx_note).
    type: bool
    default: false
    version_added: 0.2.0
  max_file_size:
    description: With O(discover), configuration files larger than this many bytes are not read.
    type: int
    default: 16777216
    version_added: 0.2.0
  tcp_targets:
    description: TCP targets to probe.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Address or host name.
        type: str
        required: true
      port:
        description: Port.
        type: int
        required: true
  unix_targets:
    description: Unix socket paths to probe and to check for the worker user.
    type: list
    elements: path
    default: []
  nginx_user:
    description: The nginx worker user, whose access to unix sockets is checked.
    type: str
    default: www-data
  nginx_group:
    description: The nginx worker group (the user's primary group when unset).
    type: str
  error_logs:
    description: nginx error logs to read and classify.
    type: list
    elements: path
    default: []
notes:
  - Reading logs, sockets of other users and firewall rules needs root; use C(become=true).
extends_documentation_fragment:
  - badgateway.nginx.nginx_cli
  - badgateway.nginx.checks
  - action_common_attributes
  - badgateway.nginx.attributes.info
  - badgateway.nginx.attributes.platform_linux
seealso:
  - module: badgateway.nginx.nginx_diagnose
'''

EXAMPLES = r'''
- name: Probe a backend and the PHP-FPM socket
  badgateway.nginx.nginx_probe:
    tcp_targets:
      - host: 10.0.0.5
        port: 7080
    unix_targets:
      - /run/php/php8.2-fpm.sock
    error_logs:
      - /var/log/nginx/error.log
  become: true
  register: evidence
'''

RETURN = r'''
nginx_raw:
  description:
    - With O(discover), the configuration as nginx read it (files, C(nginx -V), C(nginx -t)'s messages, what the
      running master loaded), the input of the facts; null on a host without nginx.
  returned: when discover is true
  type: dict
nginx_note:
  description: With O(discover), why only the upstream-side checks ran (no nginx on the host), or null.
  returned: when discover is true
  type: str
checks:
  description: Everything the node saw.
  returned: success
  type: dict
  contains:
    addresses:
      description: The host's IPv4 and IPv6 addresses.
      type: list
      elements: str
    listeners:
      description:
        - C(tcp) (family, address, port, pids, process, user, unit, set_aside) and C(unix) (path, pids, process, user,
          unit, set_aside) listeners of the module's network namespace.
        - Only processes of the module's own namespaces are named as owners. A process of another pid or network
          namespace (a container on the host network) that holds a listening socket is in the listener's
          C(set_aside) (pid, comm, reason such as C(other pid namespace)); a unix socket path that processes of
          another mount namespace bound in their own file tree is not listed; C(set_aside) at this level lists them
          all, each with its C(listener).
      type: dict
    probes:
      description: One result per target (kind, host, port or path, result, errno, error, latency_ms, as_user).
      type: list
      elements: dict
    sockets:
      description: Access of the worker user to each unix socket, by path (owner, group, mode, can_connect, reason, parents).
      type: dict
    identity:
      description: The worker user's uid, gid and groups.
      type: dict
    firewall:
      description: Active firewalls and their rules.
      type: dict
    error_logs:
      description: By path, C(info) about the window read and C(groups) of classified lines.
      type: dict
    php_fpm:
      description:
        - C(configs) (pools), C(processes) and C(logs) of PHP-FPM.
        - C(processes) are the masters and pools of the module's pid and mount namespaces; the masters of other
          namespaces (containers) are in C(processes.set_aside) with their C(reason), C(config) and C(pools).
        - A C(max_children) group of a log also has C(epochs), the time of each of its lines (the newest 200).
      type: dict
    resources:
      description: memory, load, disks, nginx_files (nginx processes of the module's pid and mount namespaces), oom.
      type: dict
    mac:
      description:
        - Mandatory access control, which answers a TCP C(connect()) of nginx with errno 13 (Permission denied); null
          when O(mac=false).
        - C(selinux) (null on a host without SELinux) has C(mode) (enforcing, permissive, disabled), C(source)
          (C(/sys/fs/selinux/enforce) or C(getenforce)), C(booleans) (C(httpd_can_network_connect),
          C(httpd_can_network_relay), each true, false, or null when unreadable) and C(denials), the groups of AVC
          denials about nginx in C(/var/log/audit/audit.log) (comm, permission, tclass, dest, scontext, tcontext,
          permissive, count, first_seen, last_seen, samples).
        - C(apparmor) (null on a kernel without AppArmor) has C(enabled), C(source), C(profiles) (name to mode, at most
          64, those naming nginx first), C(profiles_total) and C(denials), the groups of C(apparmor="DENIED") lines
          about nginx in audit.log and the kernel log (comm, profile, operation, family, sock_type, denied_mask,
          target, count, first_seen, last_seen, samples); at most 20 groups each.
        - C(logs) is, by path, what was read of each log (C(dmesg) when the kernel's buffer was read).
      type: dict
      version_added: 0.2.0
    keepalive:
      description:
        - One result per upstream keepalive member measured (O(keepalive_probe)), with C(host), C(port), C(upstream),
          C(keepalive_timeout) (seconds nginx keeps an idle connection to it), C(result), C(idle_close_s), C(waited_s),
          C(status) and C(error).
        - C(result) is C(closed) or C(reset) when the backend closed the idle connection after C(idle_close_s) seconds,
          C(open) when it was still open after C(waited_s), C(closes) when the backend answered with a C(Connection)
          header of C(close), C(error) when the measurement failed (C(error) says why).
      type: list
      elements: dict
      version_added: 0.2.0
    headers:
      description:
        - With O(header_probe), one result per C(proxy_pass) route measured - C(url) and C(host) of the request made
          to the backend, C(target) (host, port), C(location) (match, file, line), C(status), C(header_bytes) (the
          response header's size), C(error), and C(websocket) (whether the backend answered a WebSocket handshake on
          the same URL with 101; null when it did not answer).
      type: list
      elements: dict
      version_added: 0.2.0
    http:
      description: One result per HTTP check (status, server, from_nginx, headers, header_bytes, error).
      type: list
      elements: dict
    last_change:
      description: Time (epoch) of the last change M(badgateway.nginx.nginx_change) committed on this host; null if none.
      type: float
'''

import os
import re
import threading
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.badgateway.nginx.plugins.module_utils import _validate as validate
from ansible_collections.badgateway.nginx.plugins.module_utils._module import failing, new_module

from ansible_collections.badgateway.nginx.plugins.module_utils import _firewall as firewall
from ansible_collections.badgateway.nginx.plugins.module_utils import _logs as log_reader
from ansible_collections.badgateway.nginx.plugins.module_utils import _mac as mac_reader
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as fpm
from ansible_collections.badgateway.nginx.plugins.module_utils import _host_checks as probe
from ansible_collections.badgateway.nginx.plugins.module_utils import _http as http
from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError, run
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import MAX_FILE_SIZE_OPTION, NGINX_TIMEOUT_OPTION
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import (
    ConfigError, build_facts, error_log_paths, header_probe_targets, keepalive_members, probe_targets)
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_gather import collect as collect_config

# seconds nginx -V / -T may take when the configuration is read here (nginx_facts' default)
NGINX_TIMEOUT = NGINX_TIMEOUT_OPTION['default']

KERNEL_LOGS = ('/var/log/kern.log', '/var/log/messages')
# the epochs of at most this many "server reached pm.max_children" lines per pool are returned
MAX_EPOCHS = 200
# a backend's idle keep-alive connection is watched this many seconds at most (keepalive_probe)
KEEPALIVE_WAIT_MAX = 10.0
# header_probe: requests made at the same time
HEADER_PROBES_AT_ONCE = 8
# connect probes and HTTP checks running at the same time
PROBES_AT_ONCE = 32


def last_change(journal_dir):
    """Epoch of the last change nginx_change committed here (JOURNAL_DIR/last-commit), or None."""
    try:
        with open(os.path.join(journal_dir, 'last-commit')) as f:
            value = float(f.read(64).strip())
    except (IOError, OSError, ValueError):
        return None
    return value if 0 < value <= time.time() + 60 else None


def window_start(params):
    """Epoch from which log lines count: log_since seconds ago or the last commit, the later; None for all."""
    since = time.time() - params['log_since'] if params['log_since'] else None
    if params.get('_last_change') and (since is None or params['_last_change'] > since):
        since = params['_last_change']
    return since


def group_lines(records, params, summarize_key=None, epochs_of=()):
    """Groups of classified records, redacted; groups of a kind in epochs_of also list the epoch of
    each of their lines (the newest MAX_EPOCHS), for the controller to place them in time."""
    kwargs = {'key': summarize_key} if summarize_key else {}
    groups = log_reader.summarize(records, **kwargs)
    query, client = params['redact_query'], params['redact_client']
    for g in groups:
        if g.get('kind') in epochs_of:
            fields = summarize_key or ('kind', 'upstream', 'server')
            g['epochs'] = sorted(r['epoch'] for r in records if r.get('epoch') is not None and
                                 all(r.get(f) == g.get(f) for f in fields))[-MAX_EPOCHS:]
        g['samples'] = [log_reader.redact_line(x, query=query, client=client) for x in g.get('samples') or []]
        if client and g.get('client') is not None:
            g['client'] = 'REDACTED'
        if query and g.get('request'):
            g['request'] = re.sub(r'\?[^ "]*', '?REDACTED', g['request'])
    return groups


def read_log(path, classify, time_parser, params, summarize_key=None, epochs_of=()):
    since = window_start(params)
    lines, info = log_reader.read_tail(path, max_lines=params['log_lines'], since=since, time_parser=time_parser)
    records = [r for r in (classify(line) for line in lines) if r]
    return {'info': info, 'groups': group_lines(records, params, summarize_key, epochs_of)}


def dmesg_groups(text, params, boot, classify=log_reader.classify_kernel_line, summarize_key=('kind', 'process')):
    """Groups of the lines of dmesg output (``[seconds since boot] ...``) that classify(line, boot) takes,
    within the log window.

    A line's time is boot + its stamp (log_reader.dmesg_time); when a window is set, a line
    whose time cannot be worked out (no boot time) is not evidence for it and is left out.
    """
    since = window_start(params)
    records = []
    for line in text.splitlines()[-params['log_lines']:]:
        rec = classify(line, boot)
        if rec and (since is None or (rec['epoch'] is not None and rec['epoch'] >= since)):
            records.append(rec)
    return group_lines(records, params, summarize_key)


def dmesg_oom(text, params, boot):
    """OOM groups of dmesg output within the log window (see dmesg_groups)."""
    return dmesg_groups(text, params, boot)


def dmesg_text():
    """The output of dmesg, or None when it cannot be read."""
    try:
        rc, out, _err = run(['dmesg'], 10)
    except Exception:  # pylint: disable=broad-except
        return None
    return out.decode('utf-8', 'replace') if rc == 0 else None


def kernel_oom(params):
    """OOM kills in kern.log / messages (syslog or RFC 3339 stamps) or else dmesg, within the log window."""
    groups = []
    for path in KERNEL_LOGS:
        if os.path.isfile(path):
            groups = read_log(path, log_reader.classify_kernel_line, log_reader.line_time, params,
                              ('kind', 'process'))['groups']
            break
    if not groups:
        text = dmesg_text()
        if text is not None:
            groups = dmesg_oom(text, params, log_reader.boot_time())
    return [g for g in groups if g.get('kind') == 'oom_kill']


def nginx_denial(line, boot=None):
    """A MAC denial about nginx in the line (module_utils/_mac), or None."""
    rec = mac_reader.classify_mac_line(line, boot)
    return rec if mac_reader.is_nginx_denial(rec) else None


def mac(params):
    """SELinux and AppArmor: their state and their denials about nginx, within the log window.

    SELinux AVC lines are read from audit.log; AppArmor's from audit.log (where auditd runs) and the kernel
    log (kern.log / messages, else dmesg). {selinux, apparmor}: None when the host has neither the mechanism
    nor a denial of it; logs: {path: info about the window read}.
    """
    groups, logs = [], {}
    for path in (mac_reader.AUDIT_LOG,) + KERNEL_LOGS:
        if os.path.isfile(path):
            found = read_log(path, nginx_denial, mac_reader.audit_time, params, mac_reader.DENIAL_KEY)
            groups.extend(found['groups'])
            logs[path] = found['info']
            if path in KERNEL_LOGS:
                break
    else:
        text = dmesg_text()
        if text is not None:
            groups.extend(dmesg_groups(text, params, log_reader.boot_time(), nginx_denial, mac_reader.DENIAL_KEY))
            logs['dmesg'] = None
    return mac_result(mac_reader.selinux_state(run), mac_reader.apparmor_state(run), groups, logs)


def mac_result(selinux, apparmor, groups, logs):
    """checks.mac: each mechanism's state with its denials (at most MAX_DENIAL_GROUPS groups); a mechanism
    the host does not have is None, unless a denial of it was read."""
    result = {'selinux': selinux, 'apparmor': apparmor, 'logs': logs}
    for name, kind in (('selinux', 'avc_denied'), ('apparmor', 'apparmor_denied')):
        denials = [g for g in groups if g.get('kind') == kind][:mac_reader.MAX_DENIAL_GROUPS]
        if result[name] is None and denials:
            result[name] = {}
        if result[name] is not None:
            result[name] = dict(result[name], denials=denials)
    return result


def php_fpm(params):
    configs = [fpm.parse_config(path) for path in fpm.find_configs()]
    logs = {}
    for cfg in configs:
        log = ((cfg.get('global') or {}).get('error_log') or {}).get('value')
        if log and log.startswith('/') and log not in logs:
            logs[log] = read_log(log, log_reader.classify_fpm_line, log_reader.fpm_time, params, ('kind', 'pool'),
                                 epochs_of=('max_children',))
    return {'configs': configs, 'processes': fpm.pool_processes(), 'logs': logs}


def keepalive(params, error_logs):
    """How long each backend reached through an upstream keepalive keeps an idle connection (keepalive_probe).

    The members come from the configuration read here (discover); with on_errors only those the error logs
    name in a failure on an upstream connection. They are measured in parallel threads.
    """
    members = params.get('_keepalive') or []
    if params['keepalive_probe'] == 'never' or not members:
        return []
    if params['keepalive_probe'] == 'on_errors':
        failing = set()
        for log in error_logs.values():
            for group in log.get('groups') or []:
                key = log_reader.log_upstream_key(group.get('upstream'))
                if group.get('kind') in log_reader.REUSE_FAILURE_KINDS and key and key[0] == 'tcp':
                    failing.add(key[1:])
        members = [m for m in members if (m['host'], m['port']) in failing]

    def measure(member):
        wait = min(KEEPALIVE_WAIT_MAX, member['keepalive_timeout'])
        found = http.idle_close(member['host'], member['port'], wait, params['timeout'], host_header=member['upstream'])
        found.update(upstream=member['upstream'], keepalive_timeout=member['keepalive_timeout'])
        return found
    return in_threads(measure, members, len(members))


def in_threads(function, items, at_once):
    """[function(item)] of every item, at most at_once running at the same time."""
    results = [None] * len(items)
    at_once = max(1, at_once)

    def run(i, item):
        results[i] = function(item)
    for start in range(0, len(items), at_once):
        threads = [threading.Thread(target=run, args=(i, items[i])) for i in range(start, min(start + at_once, len(items)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return results


def header_sizes(params, probes):
    """The response header of each route's backend (header_probe): the route's URL, the header's bytes. Only
    backends the connect probe reached are asked (a dead one would only cost its timeout)."""
    reached = set((p.get('host'), p.get('port')) for p in probes if p.get('kind') == 'tcp' and p.get('result') == 'ok')

    def measure(item):
        found = http.get(item['url'], params['timeout'], host=item['host'], user_agent='badgateway.nginx audit')
        websocket = http.answers_websocket(item['url'], params['timeout'], host=item['host'],
                                           user_agent='badgateway.nginx audit') if found['status'] else None
        return {'url': item['url'], 'host': item['host'], 'target': item['target'], 'location': item['location'],
                'status': found['status'], 'header_bytes': found['header_bytes'], 'error': found['error'],
                'websocket': websocket}
    items = [i for i in params.get('_headers') or [] if (i['target']['host'], i['target']['port']) in reached]
    return in_threads(measure, items, HEADER_PROBES_AT_ONCE)


def collect(params):
    """Every check of this run. The waits overlap: the TCP connect probes and the HTTP checks run in threads
    while this thread reads the logs, the firewall, PHP-FPM and the resources, and the keepalive measurement
    starts as soon as the error logs are read. The unix socket probes run first, before any thread exists,
    because connect_as forks."""
    checks = {'addresses': probe.local_addresses(), 'listeners': probe.listeners()}
    checks['last_change'] = params['_last_change'] = last_change(params['journal_dir'])
    identity = probe.identity_of(params['nginx_user'], params['nginx_group'])
    checks['identity'] = identity
    checks['sockets'] = {}
    unix = []
    for path in params['unix_targets']:
        unix.append(probe.probe_unix(path, params['timeout'], identity))
        checks['sockets'][path] = probe.socket_access(path, identity)
    tcp = Started(in_threads, lambda t: probe.probe_tcp(t['host'], t['port'], connect_wait(t, params['timeout'])),
                  params['tcp_targets'], PROBES_AT_ONCE)
    urls = Started(in_threads, lambda c: probe.http_check(c['url'], params['timeout'], c.get('host')),
                   params['urls'], PROBES_AT_ONCE)
    checks['error_logs'] = {}
    for path in params['error_logs']:
        checks['error_logs'][path] = read_log(path, log_reader.classify_error_line, log_reader.nginx_time, params)
    reuse = Started(keepalive, params, checks['error_logs'])
    checks['firewall'] = firewall.collect() if params['firewall'] else None
    checks['php_fpm'] = php_fpm(params) if params['php_fpm'] else None
    if params['resources']:
        paths = list(params['error_logs']) + list(params['unix_targets']) + ['/var/log', '/run']
        checks['resources'] = {'memory': probe.memory(), 'load': probe.load(), 'disks': probe.disk_free(paths),
                               'nginx_files': probe.process_files('nginx'), 'oom': kernel_oom(params)}
    else:
        checks['resources'] = None
    checks['mac'] = mac(params) if params['mac'] else None
    checks['probes'] = tcp.result() + unix
    checks['headers'] = header_sizes(params, checks['probes'])
    checks['keepalive'] = reuse.result()
    checks['http'] = urls.result()
    return checks


def connect_wait(target, timeout):
    """How long the connect probe of a target waits: the timeout option, or less when nginx itself gives up on
    connecting to it sooner (its connect_timeout, from the configuration read here): a connection that would
    come later fails for nginx too, so the probe reports it as nginx sees it."""
    nginx_wait = target.get('connect_timeout')
    return min(timeout, nginx_wait) if nginx_wait and nginx_wait > 0 else timeout


class Started(threading.Thread):
    """function(*args), running in a thread of its own from the moment this is made; result() waits for it
    and returns what it returned, or raises what it raised."""

    def __init__(self, function, *args):
        super(Started, self).__init__()
        self.daemon = True
        self._call = (function, args)
        self._outcome = self._error = None
        self.start()

    def run(self):
        function, args = self._call
        try:
            self._outcome = function(*args)
        except BaseException as e:  # pylint: disable=broad-except
            self._error = e

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._outcome


def main():
    module = new_module(
        AnsibleModule,
        argument_spec=dict(
            probe.CHECK_OPTIONS,
            tcp_targets=dict(type='list', elements='dict', default=[], options=dict(
                host=dict(type='str', required=True), port=dict(type='int', required=True))),
            unix_targets=dict(type='list', elements='path', default=[]),
            nginx_user=dict(type='str', default='www-data'),
            nginx_group=dict(type='str'),
            error_logs=dict(type='list', elements='path', default=[]),
            discover=dict(type='bool', default=False),
            max_file_size=MAX_FILE_SIZE_OPTION,
        ),
        option_error=option_error,
        supports_check_mode=True,
    )
    p = module.params
    result = {'changed': False}
    if p['discover']:
        with failing(module, errors=(DiscoveryError,)):
            result.update(discover(p))
    result['checks'] = collect(p)
    module.exit_json(**result)


class DiscoveryError(UserError):
    """nginx is there but its configuration cannot be read here; extra: the fields the failure returns."""

    def __init__(self, msg, **extra):
        super(DiscoveryError, self).__init__(msg)
        self.extra = extra


def discover(p):
    """Read the nginx configuration here and add what it names to what p says to check.

    Returns {'nginx_raw': the configuration as nginx read it (None without nginx), 'nginx_note'}.
    The facts are built here with the controller's own code (module_utils/_nginx_facts) only to
    find the targets, logs and worker user; the controller builds them again from nginx_raw.
    """
    try:
        options = dict((k, p[k]) for k in ('nginx_bin', 'config', 'prefix', 'max_file_size'))
        raw = collect_config(dict(options, timeout=NGINX_TIMEOUT))
    except UserError as e:
        msg = str(e)
        if not p['nginx_bin'] and 'nginx binary' in msg and 'not found' in msg:
            return {'nginx_raw': None, 'nginx_note': 'nginx is not installed here: only the upstream-side checks ran'}
        raise DiscoveryError('nginx facts: %s' % msg)
    try:
        facts = build_facts(raw)
    except ConfigError as e:
        raise DiscoveryError('nginx facts: %s' % e, validation=raw.get('validation'))
    tcp, unix = probe_targets(facts)
    asked = set((t['host'], t['port']) for t in p['tcp_targets'])
    p['tcp_targets'] = p['tcp_targets'] + [t for t in tcp if (t['host'], t['port']) not in asked]
    p['unix_targets'] = p['unix_targets'] + [u for u in unix if u not in p['unix_targets']]
    p['error_logs'] = p['error_logs'] + [x for x in error_log_paths(facts) if x not in p['error_logs']]
    user = facts.get('user') or {}
    if user.get('name'):
        p['nginx_user'] = user['name']
    if user.get('group'):
        p['nginx_group'] = user['group']
    p['_keepalive'] = keepalive_members(facts)
    p['_headers'] = header_probe_targets(facts) if p['header_probe'] else []
    return {'nginx_raw': raw, 'nginx_note': None}


def option_error(p):
    """What is wrong with the options, naming the option, or None (after AnsibleModule checked the types)."""
    checks = []
    for i, t in enumerate(p['tcp_targets']):
        name = 'tcp_targets[%d].host' % i
        checks += [validate.single_line(name, t['host']),
                   '%s is longer than 253 characters: not a host name or address' % name if len(t['host']) > 253 else None,
                   None if 0 < t['port'] < 65536 else 'tcp_targets[%d].port %s is not a TCP port' % (i, t['port'])]
    for option in ('unix_targets', 'error_logs'):
        checks += [validate.no_nul('%s[%d]' % (option, i), v) for i, v in enumerate(p[option])]
    checks += [validate.single_line(option, p[option]) for option in ('nginx_user', 'nginx_group')]
    checks.append(validate.no_nul('journal_dir', p['journal_dir']))
    checks += [validate.nginx_paths_error(p), validate.at_least('max_file_size', p['max_file_size'], 1, ' byte')]
    for i, c in enumerate(p['urls']):
        checks += [validate.single_line('urls[%d].%s' % (i, k), c.get(k)) for k in ('url', 'host')]
    checks += [None if 1 <= p['log_lines'] <= 1000000 else 'log_lines must be between 1 and 1000000',
               validate.at_least('log_since', p['log_since'], 0),
               None if 0 < p['timeout'] <= 60 else 'timeout must be more than 0 and at most 60 seconds']
    return validate.first_error(*checks)


if __name__ == '__main__':
    main()
