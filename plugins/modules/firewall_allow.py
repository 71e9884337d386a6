#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: firewall_allow
short_description: Let a proxy through the firewall rule that blocks its upstream port, and nothing else
version_added: 0.1.0
description:
  - The remediation of the C(firewall_block) finding of M(badgateway.nginx.nginx_diagnose).
  - Reads the active firewalls (nftables, iptables-nft, iptables-legacy, firewalld, ufw) the same way the
    diagnosis does and walks them for a new connection to O(port) from each of O(sources)
    (O(direction=input), on the upstream host) or to each of O(destinations) (O(direction=output), on the
    nginx host).
  - For every base chain that drops or rejects it, inserts one ACCEPT rule for exactly (O(protocol),
    O(port), the addresses) right before the blocking rule, in the same chain, with the tool that owns
    the chain; a blocking chain policy gets the rule appended to the chain.
    nftables C(nft insert rule FAMILY TABLE CHAIN position HANDLE ip saddr {...} tcp dport N accept comment "...");
    iptables C(-I CHAIN POS -s ADDR -p tcp -m tcp --dport N -m comment --comment ... -j ACCEPT) (one rule per address);
    firewalld a rich rule, runtime and C(--permanent); ufw C(ufw prepend allow from ADDR to any port N proto tcp comment ...).
  - When nothing blocks the port nothing is changed (RV(already_open=true)).
  - After the change the firewalls are read again; when the port is still blocked for some address
    (for example a chain this module does not change), the added rules are removed again and the task fails.
  - With O(state=absent), removes the rules that carry O(comment) and accept O(port)/O(protocol) (nftables by
    handle, iptables by their exact spec, ufw by rule), optionally only those for the given addresses.
  - Every command is an argument list, never a shell.
options:
  port:
    description:
      - The destination port of the connection that is blocked.
    type: int
    required: true
  protocol:
    description:
      - The transport protocol.
    type: str
    choices: [tcp, udp]
    default: tcp
  direction:
    description:
      - V(input) runs on the upstream host and admits connections from O(sources) (the proxy's addresses).
      - V(output) runs on the nginx host and lets it connect to O(destinations).
    type: str
    choices: [input, output]
    default: input
  sources:
    description:
      - IPv4 or IPv6 addresses or networks (CIDR) allowed to connect. Required and non-empty with
        O(direction=input) and O(state=present).
      - C(0.0.0.0/0), C(::/0), host names and networks with host bits set are refused (never open to the world).
      - With O(state=present) the union of the addresses is judged, per IP version (C(0.0.0.0/1) and
        C(128.0.0.0/1) together are the world); a union that covers more addresses than a C(/16) of IPv4 or
        a C(/48) of IPv6 is refused unless O(allow_wide_sources=true); then up to a C(/8) and a C(/32).
        A union that covers every address of a version is always refused, whatever O(allow_wide_sources) says.
        NAT64 addresses (C(64:ff9b::/96)) count as the IPv4 addresses they stand for.
      - IPv4-mapped IPv6 addresses (C(::ffff:a.b.c.d)) are refused (the firewall sees those connections as IPv4,
        give the IPv4 address), and so are IPv6 scope ids (C(fe80::1%eth0)), as a rule matches addresses, not interfaces.
      - With O(state=absent), limits the removal to rules whose addresses are all among these.
    type: list
    elements: str
  destinations:
    description:
      - IPv4 or IPv6 addresses or networks the nginx host may connect to. Required and non-empty with
        O(direction=output) and O(state=present). Same checks as O(sources).
    type: list
    elements: str
  allow_wide_sources:
    description:
      - Allow a union of O(sources) (or O(destinations)) wider than a C(/16) of IPv4 or a C(/48) of IPv6, up to a
        C(/8) and a C(/32). The whole address space stays refused.
    type: bool
    default: false
  state:
    description:
      - V(present) adds the rules where something blocks; V(absent) removes ours.
    type: str
    choices: [present, absent]
    default: present
  backend:
    description:
      - Which firewall to change. V(auto) changes each blocking chain with the tool that owns it.
      - Any other value changes only that firewall (V(iptables) covers iptables-nft and iptables-legacy);
        when another one blocks too, the task fails before changing anything.
    type: str
    choices: [auto, nftables, iptables, firewalld, ufw]
    default: auto
  persist:
    description:
      - Make the change survive a reboot the way the distribution restores its firewall (see the notes).
    type: bool
    default: true
  comment:
    description:
      - The comment that marks our rules (nftables, iptables, ufw). Letters, digits, space and C(._:-),
        at most 64 characters.
    type: str
    default: badgateway.nginx
  zone:
    description:
      - firewalld only, the zone of the rich rules; the default zone when unset.
    type: str
  backup_dir:
    description:
      - Where the copies of persisted files are kept before they are changed (directory mode 0700, files 0600).
    type: path
    default: /var/backups/badgateway-nginx
  restore:
    description:
      - With O(state=absent) and O(persist=false), the RV(backups) of an earlier run whose persisted files are to be put
        back byte for byte with their owner and mode (files it created are deleted), through the journal (the undo of
        an allow that did not help). Each C(backup) must be a file in O(backup_dir).
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
  journal_dir:
    description:
      - The journal and lock directory of the host (mode 0700, root only), shared with M(badgateway.nginx.nginx_change);
        a change takes the lock, and the persisted files are written through one journal, so that a run killed
        mid-write is put back by the next run on the host.
    type: path
    default: /var/lib/badgateway-nginx
    version_added: 0.2.0
  lock_timeout:
    description: Seconds to wait for another run's lock on the host.
    type: int
    default: 60
    version_added: 0.2.0
  timeout:
    description:
      - Seconds each firewall command may take, at least 1.
      - A firewall that cannot be read within it (or at all) is an error, never taken for one that lets the
        connection through.
    type: int
    default: 30
notes:
  - Needs root (C(become=true)).
  - "Persistence, nftables: only when the file nftables.service loads (C(/etc/nftables.conf), or
    C(/etc/sysconfig/nftables.conf)) declares the chain that blocks, directly or through its includes.
    Then our rules (all rules with O(comment)) are written to C(/etc/nftables.d/badgateway-nginx.nft) as
    C(insert rule) statements, and when the configuration does not include that file yet one
    C(include) line is appended to it; nothing else in the configuration is rewritten (the live ruleset
    is not dumped into it: it holds runtime tables of other software such as container engines and
    iptables-nft). The result is checked with C(nft -c -f) and put back byte-for-byte when that fails.
    A chain that is not in the persisted configuration is runtime-only, so the block itself will be
    gone after a reboot; the accept rule stays runtime-only too and RV(persist_notes) says so.
    After a reboot our rules are at the start of their chains rather than right before the blocking
    rule: they accept only the given addresses and port, so the effect is the same."
  - "Persistence, iptables: when C(/etc/iptables/rules.v4) / C(rules.v6) (netfilter-persistent) or
    C(/etc/sysconfig/iptables) / C(ip6tables) (iptables-services) exists, it is rewritten from
    C(iptables-save) of the same variant, as C(netfilter-persistent save) does. When it does not exist the
    rules stay runtime-only."
  - "Persistence, firewalld and ufw: native (firewalld C(--permanent) as well as runtime, ufw stores its
    rules itself)."
  - Before a persisted file is changed a byte-for-byte copy (mode 0600) goes to O(backup_dir); RV(backups)
    names it so that a rollback can put the file back exactly (the role C(badgateway.nginx.firewall) does).
    The module puts the files back itself when it fails after writing them.
  - When nothing blocks, persistence is not touched (a rule added earlier with O(persist=false) stays
    runtime-only).
  - A network in O(sources) is evaluated at its first address.
  - firewalld rich rules cannot carry a comment; with O(state=absent) they are removed only for the given
    addresses. firewalld does not filter the output path.
seealso:
  - module: badgateway.nginx.nginx_diagnose
  - module: badgateway.nginx.nginx_probe
extends_documentation_fragment:
  - action_common_attributes
  - badgateway.nginx.attributes.change
  - badgateway.nginx.attributes.platform_posix
'''

EXAMPLES = r'''
- name: On the backend, admit the proxy to port 7080 before the rule that drops it
  badgateway.nginx.firewall_allow:
    port: 7080
    sources: [10.88.0.66]
  become: true

- name: On the nginx host, let it connect to the backend past an output rule, runtime only
  badgateway.nginx.firewall_allow:
    port: 8443
    direction: output
    destinations: [192.0.2.10]
    persist: false
  become: true

- name: Remove the rules added for the port (rollback)
  badgateway.nginx.firewall_allow:
    port: 7080
    sources: [10.88.0.66]
    state: absent
  become: true
'''

RETURN = r'''
backend:
  description: The firewall(s) changed (comma-separated), null when nothing changed.
  returned: always
  type: str
  sample: nftables
already_open:
  description: True when nothing blocked the port (nothing to add).
  returned: always
  type: bool
  sample: false
addresses:
  description: The addresses (sources or destinations) as they are written in the rules.
  returned: always
  type: list
  elements: str
  sample: [10.88.0.66]
blocking:
  description: What blocked the connection before, one entry per address and blocking base chain.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The address it blocked.
      type: str
    backend:
      description: The backend of the rule as the diagnosis names it (nftables, iptables-nft, iptables-legacy).
      type: str
    owner:
      description: The tool that changes it (nftables, iptables-nft, iptables-legacy, firewalld, ufw).
      type: str
    family: &table_family
      description: The table's family.
      type: str
    table: &table
      description: The table.
      type: str
    chain: &chain
      description: The chain that holds the rule.
      type: str
    rule:
      description: The rule's text, or the policy.
      type: str
    handle:
      description: The nftables handle.
      type: int
    policy:
      description: Whether it is the chain's policy.
      type: bool
    text:
      description: One line as the diagnosis reports it.
      type: str
  sample:
    - address: 10.88.0.66
      backend: nftables
      owner: nftables
      family: inet
      table: labfw
      chain: input
      rule: tcp dport 7080 drop
      handle: 2
      policy: false
      text: "nftables inet labfw input: tcp dport 7080 drop"
added:
  description: The rules added (or that would be added in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    backend:
      description: The tool.
      type: str
    table_family: *table_family
    table: *table
    chain: *chain
    before:
      description: The blocking rule (or policy) it was put in front of.
      type: str
    position:
      description: nftables handle of the blocking rule, iptables position, null when appended.
      type: int
    rule:
      description: The rule's text.
      type: str
    addresses:
      description: Its addresses.
      type: list
      elements: str
    argv:
      description: The commands run.
      type: list
      elements: list
  sample:
    - backend: nftables
      table_family: inet
      table: labfw
      chain: input
      before: tcp dport 7080 drop
      position: 2
      rule: ip saddr 10.88.0.66 tcp dport 7080 accept comment "badgateway.nginx"
removed:
  description: The rules removed (O(state=absent), or would be in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - backend: iptables-nft
      table: filter
      chain: INPUT
      rule: -A INPUT -s 10.88.0.66/32 -p tcp -m tcp --dport 7081 -m comment --comment badgateway.nginx -j ACCEPT
open_after:
  description: Whether the firewalls, read again after the change, accept the connection for every address;
    null in check mode.
  returned: always
  type: bool
  sample: true
verdicts_after:
  description: The verdict for each address after the change (address, verdict, certain, blocking).
  returned: when rules were added or removed
  type: list
  elements: dict
persisted:
  description: Files written so that the change survives a reboot (empty when nothing was persisted).
  returned: always
  type: list
  elements: str
  sample: [/etc/nftables.d/badgateway-nginx.nft, /etc/nftables.conf]
restored:
  description: The files O(restore) put back or deleted.
  returned: always
  type: list
  elements: str
recovered:
  description: The files of an earlier firewall run that was killed mid-write, put back before this run; null when none.
  returned: when not in check mode
  type: dict
backups:
  description: For each persisted file, its byte-for-byte copy (null when the file was created) and its
    original owner and mode, so that a rollback can put it back exactly.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The persisted file.
      type: str
    backup:
      description: The copy (mode 0600), null when the module created the file.
      type: str
    created:
      description: Whether the file did not exist before (a rollback removes it).
      type: bool
    mode:
      description: The file's original mode (octal string).
      type: str
    uid:
      description: Original owner.
      type: int
    gid:
      description: Original group.
      type: int
  sample:
    - path: /etc/nftables.conf
      backup: /var/backups/badgateway-nginx/etc_nftables.conf.20261202T011057.123456.bak
      created: false
      mode: "0755"
      uid: 0
      gid: 0
persist_notes:
  description: Why something was or was not persisted.
  returned: always
  type: list
  elements: str
msg:
  description: What happened, in one sentence.
  returned: always
  type: str
diff:
  description: The listing of the chains concerned, before and after (check mode, the planned rules marked).
  returned: when diff mode is on and something changed
  type: dict
'''

import datetime
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError
from ansible_collections.badgateway.nginx.plugins.module_utils import _firewall as fw
from ansible_collections.badgateway.nginx.plugins.module_utils import _firewall_edit as fe
from ansible_collections.badgateway.nginx.plugins.module_utils import _journal as journal
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import EditError, FileState, atomic_write


class Failed(Exception):
    """Stop with this message (after cleaning up)."""


class Runner:
    def __init__(self, timeout):
        self.timeout = timeout
        self.log = []

    def __call__(self, argv, timeout=None):
        return fw.run_tool(argv, timeout or self.timeout)

    def check(self, argv):
        """Run; return stdout text; raise Failed when it does not exit 0."""
        try:
            rc, out, err = fw.run_tool(argv, self.timeout)
        except UserError as e:
            raise Failed(str(e))
        out = out.decode('utf-8', 'replace') if isinstance(out, bytes) else (out or '')
        self.log.append(argv)
        if rc != 0:
            raise Failed('%s failed (exit %d): %s' % (' '.join(argv), rc, (err or out).strip()[-500:]))
        return out


class Files:
    """The persisted firewall files of one run, written through the node's journal (module_utils/_journal).

    Every write of the run is staged first; flush() snapshots the files, writes one journal of all of
    them (so a run killed mid-write is put back by the next run on the host), keeps a byte-for-byte
    copy of each in backup_dir (mode 0600) as the record, and writes them.  restore() puts every file
    back byte for byte with its owner and mode (each read back against its snapshot) and deletes the
    files the run created; commit() deletes the journal.
    """

    def __init__(self, backup_dir, journal_dir):
        self.backup_dir = backup_dir
        self.journal_dir = journal_dir
        # the backups the result names, the writes flush() has yet to make, the snapshots restore() puts back
        self.entries, self.staged, self.snaps = [], [], []
        self.stamp = datetime.datetime.now().strftime('%Y%m%dT%H%M%S.%f')

    def stage(self, path, data, state=None):
        """Write data to path at flush(); state (mode, uid, gid) gives the file that owner and mode, and data
        None deletes the file (the restore of a file an earlier run created)."""
        self.staged.append((path, data, state))

    def flush(self):
        """Write what was staged; the paths that changed, in the order staged."""
        todo = []
        for path, data, state in self.staged:
            snap = journal.snapshot(path)
            same = (snap['existed'] and snap['data'] == data and
                    (state is None or (snap['mode'], snap['uid'], snap['gid']) == state))
            if not same and (data is not None or snap['existed']):
                todo.append((path, data, state, snap))
        self.staged = []
        if not todo:
            return []
        self.snaps.extend(snap for _path, _data, _state, snap in todo)
        journal.write_journal(self.journal_dir, self.snaps, {'pid': os.getpid(), 'started': time.time(),
                                                             'kinds': ['firewall']})
        written = []
        for path, data, state, snap in todo:
            if data is None:
                os.unlink(path)
                written.append(path)
                continue
            entry = {'path': path, 'backup': None, 'created': not snap['existed'], 'mode': '0644', 'uid': 0, 'gid': 0}
            if state is not None:
                entry.update(mode='%04o' % state[0], uid=state[1], gid=state[2])
                mode, uid, gid = state
            elif snap['existed']:
                entry.update(mode='%04o' % snap['mode'], uid=snap['uid'], gid=snap['gid'])
                entry['backup'] = self._keep_copy(path, snap['data'])
                mode, uid, gid = snap['mode'], snap['uid'], snap['gid']
            else:
                directory = os.path.dirname(path)
                if not os.path.isdir(directory):
                    os.makedirs(directory, 0o755)
                mode, uid, gid = 0o644, 0, 0
            if state is None:
                self.entries.append(entry)
            _atomic(path, data, mode, uid, gid)
            written.append(path)
        return written

    def _keep_copy(self, path, data):
        if not os.path.isdir(self.backup_dir):
            os.makedirs(self.backup_dir, 0o700)
        os.chmod(self.backup_dir, 0o700)
        backup = os.path.join(self.backup_dir, fe.backup_name(path, self.stamp))
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        return backup

    def restore(self):
        """Put every written file back; the problems (empty when each reads back equal to its snapshot)."""
        if not self.snaps:
            return []
        problems = journal.restore(self.snaps)
        problems += ['%s: %s' % (c['path'], c['problem']) for c in (journal.verify_restored(s) for s in self.snaps)
                     if c['problem']]
        if not problems:
            self.commit()
        return problems

    def commit(self):
        if self.snaps:
            journal.discard_journal(self.journal_dir)


def restore_plan(entries, backup_dir):
    """What restoring the RV(backups) of an earlier run writes: [(path, data or None, (mode, uid, gid))].

    Checked before anything changes: each path absolute, each backup a file inside backup_dir (never a
    copy from anywhere else), with the mode, uid and gid of its entry; a file the run created is deleted.
    """
    root = os.path.realpath(backup_dir)
    planned = []
    for n, entry in enumerate(entries or []):
        path = entry.get('path')
        if not isinstance(path, str) or not os.path.isabs(path) or '\x00' in path:
            raise Failed('restore[%d].path must be an absolute path' % n)
        if entry.get('created'):
            planned.append((path, None, None))
            continue
        backup = entry.get('backup')
        if not isinstance(backup, str) or '\x00' in backup or \
                not os.path.realpath(backup).startswith(root + os.sep) or not os.path.isfile(backup):
            raise Failed('restore[%d].backup %r is not a backup in backup_dir %s' % (n, backup, backup_dir))
        try:
            state = (int(str(entry.get('mode')), 8), int(entry.get('uid')), int(entry.get('gid')))
        except (TypeError, ValueError):
            raise Failed('restore[%d] needs the mode (octal string), uid and gid of its backups entry' % n)
        with open(backup, 'rb') as f:
            planned.append((path, f.read(), state))
    return planned


def recover(journal_dir):
    """Put back the files of a firewall run that was killed mid-write; what was recovered, or None."""
    found = journal.read_journal(journal_dir)
    if found is None:
        return None
    kinds = found['manifest'].get('kinds') or ['nginx']
    if kinds != ['firewall']:
        raise Failed('%s holds the journal of an interrupted nginx or PHP-FPM change (pid %s): run '
                     'badgateway.nginx.nginx_change with recover_only: true on this host first'
                     % (journal_dir, found['manifest'].get('pid')))
    problems = journal.restore(found['snapshots'])
    if problems:
        raise Failed('the files of an interrupted firewall run (pid %s) could not be put back: %s; the journal in %s '
                     'was kept' % (found['manifest'].get('pid'), '; '.join(problems), journal_dir))
    journal.discard_journal(journal_dir)
    return {'pid': found['manifest'].get('pid'), 'files': [snap['path'] for snap in found['snapshots']]}


def _atomic(path, data, mode, uid, gid):
    try:
        atomic_write(path, data, FileState(uid, gid, mode))
    except EditError as e:  # the owner could not be kept: an I/O failure for the callers here
        raise OSError(str(e))


def read_firewalls(runner):
    collected = fw.collect(runner, runner.timeout)
    denied = [e for e in collected['errors'] if 'not permitted' in e or 'denied' in e.lower()]
    if denied:
        raise Failed('cannot read the firewall rules (run as root, become: true): %s' % denied[0])
    unreadable = fe.read_error(collected)
    if unreadable:
        raise Failed(unreadable)
    return collected


def verdicts(collected, p, nets):
    out = []
    for net, d in fe.evaluate(collected, p['direction'], p['port'], p['protocol'], nets):
        out.append({'address': fe.addr_text(net), 'verdict': d['verdict'], 'certain': d['certain'],
                    'blocking': [fw.describe(m) for m in d['blocking']]})
    return out


def public(entry, keys):
    return dict((k, entry.get(k)) for k in keys)


BLOCK_KEYS = ('address', 'backend', 'owner', 'family', 'table', 'chain', 'rule', 'handle', 'policy', 'text')
ACTION_KEYS = ('backend', 'table_family', 'table', 'chain', 'before', 'position', 'rule', 'addresses', 'argv')
REMOVED_KEYS = ('backend', 'table_family', 'table', 'chain', 'handle', 'rule', 'addresses')


def undo_all(runner, applied):
    errors = []
    for item in reversed(applied):
        for argv in item.get('undo') or []:
            try:
                runner.check(argv)
            except Failed as e:
                errors.append(str(e))
    return errors


def persist(runner, files, collected, touched, comment, result):
    """Write what the distribution restores at boot, for the backends in touched {(backend, family)}."""
    notes = result['persist_notes']
    backends = set(b for b, _f in touched)
    nft_check = None
    if 'nftables' in backends:
        conf = fe.nft_config_file()
        if conf is None:
            notes.append('nftables: none of %s exists (nothing loads a ruleset at boot): runtime only'
                         % ', '.join(fe.NFT_CONFIGS))
        else:
            declared = fe.nft_declared(conf)
            ours = fe.nft_ours_all(collected, comment)
            keep, runtime_only = fe.persistable_nft(ours, declared)
            for r in runtime_only:
                notes.append('nftables: %s %s %s is not declared in %s (nor in its includes): the chain is '
                             'runtime-only, so the rule "%s" is runtime-only too'
                             % (r['table_family'], r['table'], r['chain'], conf, r['rule']))
            if keep or os.path.exists(fe.NFT_DROPIN):
                files.stage(fe.NFT_DROPIN, fe.dropin_text(keep, comment).encode())
                with open(conf, 'rb') as f:
                    conf_bytes = f.read()
                if not fe.includes_dropin(conf_bytes.decode('utf-8', 'replace'), conf):
                    files.stage(conf, fe.with_include(conf_bytes))
                    notes.append('nftables: appended include "%s" to %s' % (fe.NFT_DROPIN, conf))
                nft_check = (conf, len(keep))
    for backend, family in sorted(touched):
        if backend not in ('iptables-nft', 'iptables-legacy'):
            continue
        path = fe.ipt_persist_file(family)
        if path is None:
            notes.append('%s: none of %s exists (netfilter-persistent / iptables-services not installed): '
                         'runtime only' % (backend if family == 'ip' else backend.replace('ip', 'ip6', 1),
                                           ', '.join(fe.IPT_FILES[family])))
            continue
        saved = runner.check([fe.ipt_save_tool(backend, family)])
        files.stage(path, saved.encode())
        notes.append('%s: %s rewritten from %s' % (backend, path, fe.ipt_save_tool(backend, family)))
    result['persisted'].extend(files.flush())
    if nft_check:
        conf, count = nft_check
        try:
            runner.check(['nft', '-c', '-f', conf])
        except Failed as e:
            raise Failed('the persisted nftables configuration does not load any more (%s)' % e)
        notes.append('nftables: %d rule(s) with comment "%s" in %s, loaded from %s at boot'
                     % (count, comment, fe.NFT_DROPIN, conf))
    if 'firewalld' in backends:
        notes.append('firewalld: rich rules added with --permanent as well as at runtime')
    if 'ufw' in backends:
        notes.append('ufw: rules are stored by ufw itself (/etc/ufw/user.rules, user6.rules)')
    result['backups'] = files.entries


def main():
    module = AnsibleModule(
        argument_spec=dict(
            port=dict(type='int', required=True),
            protocol=dict(type='str', default='tcp', choices=list(fe.PROTOCOLS)),
            direction=dict(type='str', default='input', choices=['input', 'output']),
            sources=dict(type='list', elements='str'),
            destinations=dict(type='list', elements='str'),
            allow_wide_sources=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            backend=dict(type='str', default='auto', choices=list(fe.BACKENDS)),
            persist=dict(type='bool', default=True),
            comment=dict(type='str', default=fe.DEFAULT_COMMENT),
            zone=dict(type='str'),
            backup_dir=dict(type='path', default='/var/backups/badgateway-nginx'),
            restore=dict(type='list', elements='dict', default=[]),
            journal_dir=dict(type='path', default='/var/lib/badgateway-nginx'),
            lock_timeout=dict(type='int', default=60),
            timeout=dict(type='int', default=30),
        ),
        mutually_exclusive=[('sources', 'destinations')],
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, backend=None, already_open=False, addresses=[], blocking=[], added=[], removed=[],
                  open_after=None, persisted=[], backups=[], persist_notes=[], msg='', recovered=None, restored=[])
    what = 'sources' if p['direction'] == 'input' else 'destinations'
    other = 'destinations' if what == 'sources' else 'sources'
    try:
        if p[other]:
            raise fe.FirewallEditError('%s is for direction=%s; direction=%s takes %s'
                                       % (other, 'output' if other == 'destinations' else 'input', p['direction'], what))
        fe.check_comment(p['comment'])
        fe.check_zone(p['zone'])
        fe.check_backup_dir(p['backup_dir'])
        fe.check_backup_dir(p['journal_dir'], 'journal_dir')
        if p['lock_timeout'] < 0:
            raise fe.FirewallEditError('lock_timeout must be at least 0, got %d' % p['lock_timeout'])
        p['port'] = fe.check_port(p['port'])
        p['timeout'] = fe.check_timeout(p['timeout'])
        if p['state'] == 'present' or p[what]:
            nets = fe.parse_addresses(p[what], what)
        else:
            nets = None
        if p['state'] == 'present':
            fe.check_width(nets, p['allow_wide_sources'], what)
    except fe.FirewallEditError as e:
        _fail(module, str(e), result)
    result['addresses'] = [fe.addr_text(n) for n in nets or []]
    runner = Runner(p['timeout'])
    files = Files(p['backup_dir'], p['journal_dir'])
    lock = None
    try:
        if p['restore'] and (p['state'] != 'absent' or p['persist']):
            raise Failed('restore goes with state=absent and persist=false (it puts back the files an allow persisted)')
        restoring = restore_plan(p['restore'], p['backup_dir'])
        if not module.check_mode:
            # the lock of every change on this host (nginx_change, nginx_directive), then a killed run's files back
            journal.secure_dir(p['journal_dir'])
            lock = journal.Lock(p['journal_dir'])
            lock.acquire(p['lock_timeout'])
            result['recovered'] = recover(p['journal_dir'])
        if p['state'] == 'present':
            present(module, runner, files, p, nets, result)
        else:
            absent(module, runner, files, p, nets, result)
        if restoring and not module.check_mode:
            for path, data, state in restoring:
                files.stage(path, data, state)
            result['restored'] = files.flush()
            result['changed'] = result['changed'] or bool(result['restored'])
        files.commit()
    except (Failed, fe.FirewallEditError) as e:
        _fail(module, str(e), result)
    except journal.TxnError as e:
        _fail(module, 'journal_dir %s: %s' % (p['journal_dir'], e), result)
    finally:
        if lock:
            lock.release()
    module.exit_json(**result)


def _fail(module, msg, result):
    out = dict(result)
    out['msg'] = msg
    module.fail_json(**out)


def _diff(before, after, p):
    header = 'firewall rules for %s/%d' % (p['protocol'], p['port'])
    return dict(before=before, after=after, before_header=header, after_header=header)


def present(module, runner, files, p, nets, result):
    before = read_firewalls(runner)
    plan = fe.plan_allow(before, p['direction'], p['port'], p['protocol'], nets, p['comment'], p['backend'], p['zone'])
    result['blocking'] = [public(b, BLOCK_KEYS) for b in plan['blocking']]
    target = '%s/%d %s %s' % (p['protocol'], p['port'], 'from' if p['direction'] == 'input' else 'to',
                              ', '.join(result['addresses']))
    if plan['uncertain']:
        module.warn('rules that cannot be evaluated are on the path of %s: %s' % (target, ', '.join(plan['uncertain'])))
    if plan['unhandled']:
        raise Failed('%s is blocked by %s, which backend=%s does not change; nothing changed'
                     % (target, '; '.join(b['text'] for b in plan['unhandled']), p['backend']))
    if not plan['actions']:
        result.update(already_open=True, open_after=True,
                      msg='nothing blocks %s (%s): no change' % (target, ', '.join(before['active']) or 'no active firewall'))
        return
    chains = []
    for a in plan['actions']:
        key = (a['backend'], a['table_family'], a['table'], a['chain'])
        if key not in chains and a['backend'] in ('nftables', 'iptables-nft', 'iptables-legacy'):
            chains.append(key)
    result['changed'] = True
    result['backend'] = ','.join(sorted(set(a['backend'] for a in plan['actions'])))
    result['added'] = [public(a, ACTION_KEYS) for a in plan['actions']]
    if module._diff:
        result['diff'] = _diff(fe.chain_listing(before, chains), fe.predicted_listing(before, chains, plan['actions']), p)
    if module.check_mode:
        result['msg'] = 'would add %d rule(s) for %s' % (len(plan['actions']), target)
        return
    applied = []
    try:
        for action in plan['actions']:
            out = ''
            for argv in action['argv']:
                out = runner.check(argv)
            if action['backend'] == 'nftables':
                handle = fe.echoed_handle(out)
                action['handle'] = handle
                if handle is not None:
                    action['undo'] = [fe.nft_delete_argv(action['table_family'], action['table'], action['chain'],
                                                         handle)]
            applied.append(action)
        after = read_firewalls(runner)
        for action in applied:
            if action['backend'] == 'nftables' and not action['undo']:
                known = set(r['handle'] for r in fe.nft_ours_all(before, p['comment']))
                action['undo'] = [r['undo'][0] for r in fe.find_ours(after, p['direction'], p['port'], p['protocol'],
                                                                     p['comment'], nets, ['nftables'])
                                  if r['handle'] not in known and (r['table_family'], r['table'], r['chain']) ==
                                  (action['table_family'], action['table'], action['chain'])]
        result['verdicts_after'] = verdicts(after, p, nets)
        still = [v for v in result['verdicts_after'] if v['verdict'] != 'accept']
        if still:
            raise Failed('%s is still blocked after adding %d rule(s): %s'
                         % (target, len(applied), '; '.join('%s by %s' % (v['address'], ', '.join(v['blocking']))
                                                            for v in still)))
        result['open_after'] = True
        if p['persist']:
            touched = set((a['backend'], a['family']) for a in applied)
            try:
                persist(runner, files, after, touched, p['comment'], result)
            except (IOError, OSError) as e:
                raise Failed('cannot persist: %s' % e)
        else:
            result['persist_notes'].append('persist=false: runtime only')
    except Failed as e:
        errors = undo_all(runner, applied)
        errors += files.restore()
        result['changed'] = bool(errors)
        result['open_after'] = False if result['open_after'] is None else result['open_after']
        raise Failed('%s; rolled back%s' % (e, (' INCOMPLETELY: ' + '; '.join(errors)) if errors else
                                            ' (the added rules were removed, persisted files put back)'))
    if module._diff:
        result['diff'] = _diff(fe.chain_listing(before, chains), fe.chain_listing(after, chains), p)
    result['msg'] = 'added %d rule(s) for %s before %s' % (
        len(applied), target, '; '.join(sorted(set(b['text'] for b in plan['blocking']))))


def absent(module, runner, files, p, nets, result):
    before = read_firewalls(runner)
    backends = {'auto': None, 'nftables': ['nftables'], 'iptables': ['iptables-nft', 'iptables-legacy'],
                'firewalld': [], 'ufw': []}[p['backend']]
    ours = fe.find_ours(before, p['direction'], p['port'], p['protocol'], p['comment'], nets, backends)
    if p['backend'] in ('auto', 'ufw') and before.get('ufw') == 'active':
        ours += fe.ufw_ours(runner.check(['ufw', 'show', 'added']), p['direction'], p['port'], p['protocol'],
                            p['comment'], nets)
    if p['backend'] in ('auto', 'firewalld') and before.get('firewalld') == 'running':
        if nets:
            argv = ['firewall-cmd'] + (['--zone=%s' % p['zone']] if p['zone'] else []) + ['--list-rich-rules']
            ours += fe.firewalld_ours(runner.check(argv), p['direction'], p['port'], p['protocol'], nets, p['zone'])
        else:
            module.warn('firewalld rich rules carry no comment: give sources/destinations to remove them')
    result['removed'] = [public(r, REMOVED_KEYS) for r in ours]
    target = '%s/%d' % (p['protocol'], p['port'])
    if not ours:
        result['msg'] = 'no rule with comment "%s" for %s: no change' % (p['comment'], target)
        return
    result['changed'] = True
    result['backend'] = ','.join(sorted(set(r['backend'] for r in ours)))
    chains = []
    for r in ours:
        key = (r['backend'], r['table_family'], r['table'], r['chain'])
        if key not in chains and r['backend'] in ('nftables', 'iptables-nft', 'iptables-legacy'):
            chains.append(key)
    if module.check_mode:
        if module._diff:
            listing = fe.chain_listing(before, chains)
            removed = set('  %s' % r['rule'] for r in ours)
            after = ''.join(line + '\n' for line in listing.splitlines()
                            if line not in removed and line.rsplit(' # handle', 1)[0] not in removed)
            result['diff'] = _diff(listing, after, p)
        result['msg'] = 'would remove %d rule(s) for %s' % (len(ours), target)
        return
    for r in ours:
        for argv in r['undo']:
            runner.check(argv)
    after = read_firewalls(runner)
    if nets:
        result['verdicts_after'] = verdicts(after, p, nets)
    if p['persist']:
        try:
            persist(runner, files, after, set((r['backend'], r['family']) for r in ours), p['comment'], result)
        except (Failed, IOError, OSError) as e:
            errors = files.restore()
            raise Failed('rules removed at runtime, but persisting failed (%s); persisted files put back%s'
                         % (e, (' INCOMPLETELY: ' + '; '.join(errors)) if errors else ''))
    if module._diff:
        result['diff'] = _diff(fe.chain_listing(before, chains), fe.chain_listing(after, chains), p)
    result['msg'] = 'removed %d rule(s) with comment "%s" for %s' % (len(ours), p['comment'], target)


if __name__ == '__main__':
    main()
