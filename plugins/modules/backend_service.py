#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: backend_service
short_description: Start the stopped service that should listen where nginx proxies to (upstream_down)
version_added: 0.1.0
description:
  - The remedy of the C(upstream_down) finding of M(badgateway.nginx.nginx_diagnose), run on the host
    that owns the target. Never touches nginx.
  - When something already listens on the port (at the address or a wildcard address) or on the unix
    socket, nothing is done (C(changed=false)) and the listener is returned with its process and unit.
  - Only this host's namespaces count (the ones the module runs in). A unix socket path that a process of
    another mount namespace (a container) bound in its own file tree is not this host's path, unless it is
    the same file (a shared volume). A TCP socket of this host's network namespace that only processes of
    another pid or network namespace hold (a container on the host network) does listen, but those
    processes are not named as its owner; they are in C(set_aside) of RV(listener).
  - Otherwise the systemd unit is O(name) when given; else it is found among the candidates, described
    by one C(systemctl show) call - loaded services that are inactive or failed (C(systemctl list-units)),
    enabled template instances (symlinks in C(/etc/systemd/system/*.wants/), which list-units does not
    show while they were never started), instances of templates whose C(EnvironmentFile=) names the
    instance (C(/etc/app/%i.env)) when that file exists, and for a socket or port that a PHP-FPM pool
    listens on, the php-fpm unit of that configuration.
  - A unit is a candidate when the port (as a whole number) or the socket path appears in its
    C(ExecStart) command line, its C(Environment) or the content of its environment files, or when it
    runs the PHP-FPM configuration whose pool listens there. Exactly one candidate is used; none or
    several fail with the list and a request to set O(name).
  - The unit is started (C(systemctl reset-failed) first when it is in the failed state; C(systemctl restart)
    when it is active, which only happens for an explicit O(name) or a PHP-FPM unit whose pool does not
    listen), then the module waits up to O(timeout) seconds until the listener appears in C(/proc/net).
    When it does not, the task fails with the unit's state and the last lines of its journal.
  - Without systemd (no C(/run/systemd/system)), O(name) must name an C(/etc/init.d) script, which is
    run with C(start); otherwise the module fails and says so.
options:
  port:
    description:
      - TCP port that must listen. Exactly one of O(port) and O(socket) is required.
    type: int
  socket:
    description:
      - Path of the unix socket that must listen.
    type: path
  address:
    description:
      - Address the TCP listener must accept connections on (the target's host). A listener on a
        wildcard address (C(0.0.0.0), C(::)) counts; a host name is resolved; C(localhost) means the
        loopback addresses. Unset, any listener on O(port) counts.
      - An address that is neither an IP address nor a name that resolves is an error (nothing is started).
    type: str
  name:
    description:
      - The systemd unit to start (C(.service) is added when no type is given), or without systemd the
        name of an C(/etc/init.d) script. Unset, the unit is found as described above.
    type: str
  timeout:
    description:
      - Seconds to wait for the listener after the start.
    type: int
    default: 15
notes:
  - Starting units and reading other users' sockets needs root; use C(become=true).
  - The module polls C(/proc/net/tcp), C(/proc/net/tcp6) and C(/proc/net/unix); it does not connect.
extends_documentation_fragment:
  - action_common_attributes
  - badgateway.nginx.attributes.platform_linux
attributes:
  check_mode:
    support: full
    details: Reports which unit would be started (C(changed=true)) and starts nothing.
  diff_mode:
    support: none
seealso:
  - module: badgateway.nginx.nginx_diagnose
  - module: badgateway.nginx.nginx_probe
'''

EXAMPLES = r'''
- name: Bring back whatever should listen on port 8090
  badgateway.nginx.backend_service:
    port: 8090
  become: true

- name: Start PHP-FPM for its socket (the unit is found from the pool configuration)
  badgateway.nginx.backend_service:
    socket: /run/php/php8.2-fpm.sock
  become: true

- name: Name the unit when several could listen there
  badgateway.nginx.backend_service:
    port: 8080
    address: 10.0.0.5
    name: api.service
    timeout: 30
  become: true
  register: backend
'''

RETURN = r'''
target:
  description: What must listen, as text (C(ADDRESS:PORT), C(port PORT) or the socket path).
  returned: always
  type: str
  sample: 10.88.0.3:8090
unit:
  description: The unit that listens, was started or would be started; C(null) when none was found.
  returned: always
  type: str
  sample: labapp@app-8090.service
action:
  description: C(none) (something listened already), C(started), C(restarted) (the unit was active but
    nothing listened). In check mode, what would be done.
  returned: always
  type: str
  sample: started
candidates:
  description: The units that matched, each with C(unit), C(active_state), C(sub_state) and C(matched)
    (where the port or path was found, e.g. C(EnvironmentFile /etc/labapp/app-8090.env)).
  returned: always
  type: list
  elements: dict
listener:
  description: The listener afterwards (or before, when nothing was done) - C(pid), C(pids), C(process),
    C(unit), C(user), and C(address) and C(port) or C(path). C(null) in check mode when nothing listens.
    C(set_aside) lists the processes of other namespaces that hold the socket (C(pid), C(comm), C(reason)
    such as C(other pid namespace)); they are never given as C(pid) or C(unit).
  returned: always
  type: dict
  sample: {pid: 412, pids: [412], process: python3, unit: labapp@app-8090.service, user: root, address: 0.0.0.0, port: 8090}
state:
  description: The unit's C(active_state) and C(sub_state) C(before) and C(after) the start (C(after) is
    C(null) when nothing was started).
  returned: always
  type: dict
  sample: {before: {active_state: failed, sub_state: failed}, after: {active_state: active, sub_state: running}}
manager:
  description: C(systemd), C(init.d) or C(null) (nothing to do).
  returned: always
  type: str
elapsed:
  description: Seconds from the start command until the listener was seen.
  returned: when a unit was started
  type: float
unresolved:
  description: C(true) when the task failed because no single unit could be found (none or several
    candidates, or no systemd and no init script named); the role reports these instead of failing.
  returned: failure
  type: bool
journal:
  description: The last lines of the unit's journal, when the start failed or nothing listened.
  returned: failure
  type: list
  elements: str
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.badgateway.nginx.plugins.module_utils import _systemd_units as svc
from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError, run
from ansible_collections.badgateway.nginx.plugins.module_utils._module import failing, new_module

INIT_D = '/etc/init.d'


class Remedy(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        self.port, self.path, self.address = p['port'], p['socket'], p['address']
        self.timeout = p['timeout']
        self.what = svc.target_text(self.port, self.path, self.address)
        self.result = {'changed': False, 'target': self.what, 'unit': None, 'action': 'none', 'candidates': [],
                       'listener': None, 'state': {'before': None, 'after': None}, 'manager': None}

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    def miss_reason(self, table):
        others = svc.other_addresses(self.port, table) if not self.path else []
        if others:
            return '; port %d listens only at %s' % (self.port, ', '.join(others))
        return ''

    def confirm(self, unit, started_at):
        found, table = svc.wait_listening(self.port, self.path, self.address, self.timeout)
        self.result['elapsed'] = round(time.time() - started_at, 2)
        return found, table

    def run_systemd(self):
        self.result['manager'] = 'systemd'
        name = self.module.params['name']
        if name:
            unit = svc.unit_name(name)
            show = svc.describe_unit(run, unit)
            unit = show.get('Id') or unit
            candidates = [{'unit': unit, 'active_state': show.get('ActiveState'), 'sub_state': show.get('SubState'),
                           'matched': ['name']}]
        else:
            candidates, units = svc.find_candidates(run, self.port, self.path)
            self.result['candidates'] = candidates
            if len(candidates) != 1:
                self.fail(svc.ambiguity_message(self.what, candidates, len(units)), unresolved=True)
            unit = candidates[0]['unit']
            show = units[unit]
        self.result['candidates'] = candidates
        self.result['unit'] = unit
        before = {'active_state': show.get('ActiveState'), 'sub_state': show.get('SubState')}
        self.result['state']['before'] = before
        active = before['active_state'] in ('active', 'activating', 'reloading')
        verb = 'restart' if active else 'start'
        self.result['action'] = 'restarted' if active else 'started'
        self.result['changed'] = True
        if self.module.check_mode:
            self.module.exit_json(**self.result)
        if show.get('NeedDaemonReload') == 'yes':
            self.systemctl(['daemon-reload'], unit)
        if before['active_state'] == 'failed':
            self.systemctl(['reset-failed', unit], unit)
        started_at = time.time()
        self.systemctl([verb, unit], unit, timeout=max(90, self.timeout + 30))
        found, table = self.confirm(unit, started_at)
        after = svc.unit_state(run, unit)
        self.result['state']['after'] = after
        self.result['listener'] = svc.listener_summary(found)
        if not found:
            self.fail('%s was %s but nothing listens on %s after %d s (unit %s/%s)%s' % (
                unit, self.result['action'], self.what, self.timeout, after.get('active_state'),
                after.get('sub_state'), self.miss_reason(table)), journal=svc.journal_tail(run, unit))

    def systemctl(self, args, unit, timeout=60):
        rc, _out, err = run(['systemctl'] + args, timeout)
        if rc != 0:
            state = {}
            try:
                state = svc.unit_state(run, unit)
            except (svc.ServiceError, UserError):
                pass
            self.result['state']['after'] = state or None
            self.fail('systemctl %s failed (rc %d): %s (unit %s/%s)' % (
                ' '.join(args), rc, err.strip()[:500] or 'no message', state.get('active_state'),
                state.get('sub_state')), journal=svc.journal_tail(run, unit))

    def run_initd(self):
        name = self.module.params['name']
        script = os.path.join(INIT_D, os.path.basename(name[:-8] if name and name.endswith('.service') else name or ''))
        if not name or not (os.path.isfile(script) and os.access(script, os.X_OK)):
            self.fail('no systemd on this host: start the service that should listen on %s yourself or give name '
                      'with an init script%s' % (self.what, ' (%s does not exist or is not executable)' % script
                                                 if name else ''), unresolved=True)
        self.result.update(manager='init.d', unit=script, action='started', changed=True,
                           candidates=[{'unit': script, 'active_state': None, 'sub_state': None, 'matched': ['name']}])
        if self.module.check_mode:
            self.module.exit_json(**self.result)
        started_at = time.time()
        rc, out, err = run([script, 'start'], max(90, self.timeout + 30))
        if rc != 0:
            text = (err.strip() or out.decode('utf-8', 'replace').strip())[-500:]
            self.fail('%s start failed (rc %d): %s' % (script, rc, text or 'no message'))
        found, table = self.confirm(script, started_at)
        self.result['listener'] = svc.listener_summary(found)
        if not found:
            self.fail('%s start succeeded but nothing listens on %s after %d s%s' % (
                script, self.what, self.timeout, self.miss_reason(table)))

    def main(self):
        found = svc.find_listener(self.port, self.path, self.address)
        if found:
            self.result.update(listener=svc.listener_summary(found), unit=found.get('unit'))
            self.module.exit_json(**self.result)
        if svc.has_systemd():
            self.run_systemd()
        else:
            self.run_initd()
        self.module.exit_json(**self.result)


def option_error(p):
    """What is wrong with the options, or None (after AnsibleModule checked the types)."""
    if p['port'] is not None and not 0 < p['port'] < 65536:
        return 'port %s is not a TCP port' % p['port']
    if p['socket'] is not None and (not p['socket'].startswith('/') or '\x00' in p['socket']):
        return 'socket must be an absolute path without NUL bytes, not %r' % p['socket']
    if not 0 < p['timeout'] <= 600:
        return 'timeout must be more than 0 and at most 600 seconds'
    if p['address'] is not None and (any(c.isspace() or ord(c) < 32 for c in p['address'].strip())
                                     or svc.address_set(p['address'].strip()) is None):
        return 'address %r is not an IP address and does not resolve: nothing was started' % (p['address'],)
    return None


def main():
    module = new_module(
        AnsibleModule,
        argument_spec=dict(
            port=dict(type='int'),
            socket=dict(type='path'),
            address=dict(type='str'),
            name=dict(type='str'),
            timeout=dict(type='int', default=15),
        ),
        required_one_of=[('port', 'socket')],
        mutually_exclusive=[('port', 'socket'), ('socket', 'address')],
        option_error=option_error,
        supports_check_mode=True,
    )
    remedy = Remedy(module)
    with failing(module, remedy.result, errors=(UserError, svc.ServiceError)):
        remedy.main()


if __name__ == '__main__':
    main()
