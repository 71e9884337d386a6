# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""badgateway.nginx.firewall_allow on a real host: a podman container of the test-host image.

The backend container gets the lab's rules (nft ``inet labfw`` input ``tcp dport 7080 drop``,
``iptables -A INPUT -p tcp --dport 7081 -j REJECT``) and python http.servers on both ports;
a client container is the proxy that gets admitted; this machine (its address on the podman
bridge) is the one that must stay out.  The tests run in file order on the same containers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from podman_lab import Lab, connect_from, connect_host, run_module, skip_reason

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or '')


@pytest.fixture(scope='module')
def lab():
    lab = Lab('fwallow')
    try:
        backend = lab.start('backend')
        client = lab.start('client', net_admin=False)
        lab.backend(backend)
        lab.wait_python(client)
        # netfilter-persistent's file exists: the iptables change must be persisted there
        lab.sh(backend, 'mkdir -p /etc/iptables && iptables-save > /etc/iptables/rules.v4')
        yield {'lab': lab, 'backend': backend, 'client': client, 'backend_ip': lab.ip(backend),
               'client_ip': lab.ip(client)}
    finally:
        lab.close()


def nft_table(lab):
    return lab['lab'].sh(lab['backend'], 'nft -a list table inet labfw').stdout


def ipt_input(lab):
    return lab['lab'].sh(lab['backend'], 'iptables -S INPUT').stdout


def test_blocked_before(lab):
    assert connect_from(lab['client'], lab['backend_ip'], 7080) == 'timeout'
    assert connect_from(lab['client'], lab['backend_ip'], 7081) == 'refused'


def test_check_mode_changes_nothing(lab):
    before_nft, before_ipt = nft_table(lab), ipt_input(lab)
    res = run_module(lab['backend'], {'port': 7080, 'sources': [lab['client_ip']]}, check=True, diff=True)
    assert res['changed'] is True and res['failed'] is False, res
    assert res['added'][0]['rule'] == 'ip saddr %s tcp dport 7080 accept comment "badgateway.nginx"' % lab['client_ip']
    assert res['open_after'] is None
    assert '+  ip saddr %s tcp dport 7080 accept' % lab['client_ip'] in res['_diff_text']
    assert '(planned)' in res['_diff_text']
    assert nft_table(lab) == before_nft and ipt_input(lab) == before_ipt
    assert connect_from(lab['client'], lab['backend_ip'], 7080) == 'timeout'


def test_refuses_the_world(lab):
    for bad in (['0.0.0.0/0'], ['::/0'], ['backend.example'], ['10.0.0.5/8'], []):
        res = run_module(lab['backend'], {'port': 7080, 'sources': bad})
        assert res['failed'] is True, (bad, res)
        assert res['changed'] is False
    res = run_module(lab['backend'], {'port': 7080, 'sources': [lab['client_ip']], 'comment': 'x"; flush ruleset'})
    assert res['failed'] is True and 'comment' in res['msg']
    assert 'badgateway' not in nft_table(lab)


WORLD_IN_PIECES = [
    ['0.0.0.0/1', '128.0.0.0/1'],
    ['::/1', '8000::/1'],
    ['%d.0.0.0/8' % i for i in range(256)],
    ['0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/2', '192.0.0.0/3', '224.0.0.0/3'],
    ['::ffff:0:0/96'],  # every IPv4 address, IPv4-mapped
    ['::ffff:10.88.0.1'],  # IPv4-mapped: never matches an IPv4 packet
]


@pytest.mark.parametrize('port', [7080, 7081])  # nftables drop, iptables reject
def test_refuses_the_world_in_pieces(lab, port):
    before_nft, before_ipt = nft_table(lab), ipt_input(lab)
    for sources in WORLD_IN_PIECES:
        for wide in (False, True):  # the world stays refused even with allow_wide_sources
            args = dict({'port': port, 'sources': sources}, **({'allow_wide_sources': True} if wide else {}))
            res = run_module(lab['backend'], args)
            assert res['failed'] is True and res['changed'] is False, (sources, res)
            assert res['added'] == [], res
            assert 'sources' in res['msg'], res['msg']
    assert nft_table(lab) == before_nft and ipt_input(lab) == before_ipt
    assert connect_host(lab['backend_ip'], port) == ('timeout' if port == 7080 else 'refused')


@pytest.mark.parametrize('args, words', [
    ({'sources': ['10.0.0.0/15']}, 'allow_wide_sources'),
    ({'sources': ['10.0.0.0/16', '10.1.0.0/16']}, 'allow_wide_sources'),
    ({'sources': ['2001:db8::/47']}, 'allow_wide_sources'),
    ({'sources': ['10.0.0.0/7'], 'allow_wide_sources': True}, 'wider than'),
    ({'sources': ['fe80::1%eth0']}, 'scope'),
    ({'sources': ['10.88.0.66'], 'timeout': 0}, 'timeout'),
    ({'sources': ['10.88.0.66'], 'timeout': -1}, 'timeout'),
])
def test_refuses_wide_scoped_and_bad_timeout(lab, args, words):
    before_nft, before_ipt = nft_table(lab), ipt_input(lab)
    res = run_module(lab['backend'], dict(args, port=7080))
    assert res['failed'] is True and res['changed'] is False, res
    assert words in res['msg'], res['msg']
    assert nft_table(lab) == before_nft and ipt_input(lab) == before_ipt


def test_unreadable_firewall_is_an_error(lab):
    """nft that does not answer in time: the ruleset is unknown, never 'nothing blocks'."""
    sh = lab['lab'].sh
    sh(lab['backend'], "printf '#!/bin/sh\\nsleep 3\\nexec /usr/sbin/nft \"$@\"\\n' > /usr/local/sbin/nft && "
                       "chmod 755 /usr/local/sbin/nft")
    try:
        res = run_module(lab['backend'], {'port': 7080, 'sources': [lab['client_ip']], 'timeout': 1})
    finally:
        sh(lab['backend'], 'rm -f /usr/local/sbin/nft')
    assert res['failed'] is True and res['changed'] is False, res
    assert 'cannot read the firewall' in res['msg'], res['msg']
    assert res['already_open'] is False and res['open_after'] is None, res
    assert 'badgateway' not in nft_table(lab)
    assert connect_from(lab['client'], lab['backend_ip'], 7080) == 'timeout'


def test_allow_nftables_drop(lab):
    res = run_module(lab['backend'], {'port': 7080, 'sources': [lab['client_ip']]}, diff=True)
    assert res['changed'] is True and res['failed'] is False, res
    assert res['backend'] == 'nftables'
    assert res['blocking'][0]['text'] == 'nftables inet labfw input: tcp dport 7080 drop'
    assert res['open_after'] is True
    # the chain is not in /etc/nftables.conf (runtime-only, like the lab's own rule): not persisted
    assert res['persisted'] == [] and 'runtime-only' in ' '.join(res['persist_notes'])
    listing = nft_table(lab)
    ours = 'ip saddr %s tcp dport 7080 accept comment "badgateway.nginx"' % lab['client_ip']
    assert listing.index(ours) < listing.index('tcp dport 7080 drop'), listing
    assert connect_from(lab['client'], lab['backend_ip'], 7080) == 'ok'
    assert connect_host(lab['backend_ip'], 7080) == 'timeout'  # only the client was admitted
    assert connect_from(lab['client'], lab['backend_ip'], 7081) == 'refused'  # the other port untouched


def test_allow_iptables_reject_and_persist(lab):
    before = lab['lab'].sh(lab['backend'], 'cat /etc/iptables/rules.v4').stdout
    res = run_module(lab['backend'], {'port': 7081, 'sources': [lab['client_ip']]})
    assert res['changed'] is True and res['failed'] is False, res
    assert res['backend'] == 'iptables-nft'
    assert res['open_after'] is True
    rules = ipt_input(lab).splitlines()
    ours = [i for i, r in enumerate(rules) if '--comment' in r and lab['client_ip'] in r]
    reject = [i for i, r in enumerate(rules) if '-j REJECT' in r]
    assert len(ours) == 1 and ours[0] < reject[0], rules
    assert connect_from(lab['client'], lab['backend_ip'], 7081) == 'ok'
    assert connect_host(lab['backend_ip'], 7081) == 'refused'
    # persisted the netfilter-persistent way, with a byte-for-byte root-only backup
    assert res['persisted'] == ['/etc/iptables/rules.v4']
    saved = lab['lab'].sh(lab['backend'], 'cat /etc/iptables/rules.v4').stdout
    assert '-A INPUT -s %s/32 -p tcp -m tcp --dport 7081' % lab['client_ip'] in saved
    backup = res['backups'][0]
    assert backup['path'] == '/etc/iptables/rules.v4' and backup['created'] is False
    assert lab['lab'].sh(lab['backend'], 'cat %s' % backup['backup']).stdout == before
    assert lab['lab'].sh(lab['backend'], 'stat -c %a ' + backup['backup']).stdout.strip() == '600'


def test_idempotent(lab):
    for port in (7080, 7081):
        res = run_module(lab['backend'], {'port': port, 'sources': [lab['client_ip']]})
        assert res['changed'] is False and res['already_open'] is True, res
        assert res['failed'] is False


def test_absent_removes_only_ours(lab):
    res = run_module(lab['backend'], {'port': 7080, 'sources': [lab['client_ip']], 'state': 'absent'}, diff=True)
    assert res['changed'] is True and len(res['removed']) == 1, res
    assert 'badgateway' not in nft_table(lab) and 'tcp dport 7080 drop' in nft_table(lab)
    assert connect_from(lab['client'], lab['backend_ip'], 7080) == 'timeout'
    assert connect_from(lab['client'], lab['backend_ip'], 7081) == 'ok'  # the 7081 rule stays
    res = run_module(lab['backend'], {'port': 7081, 'state': 'absent'})
    assert res['changed'] is True and res['removed'][0]['backend'] == 'iptables-nft', res
    assert 'comment' not in ipt_input(lab)
    assert '--comment' not in lab['lab'].sh(lab['backend'], 'cat /etc/iptables/rules.v4').stdout
    assert connect_from(lab['client'], lab['backend_ip'], 7081) == 'refused'
    res = run_module(lab['backend'], {'port': 7081, 'state': 'absent'})
    assert res['changed'] is False


def test_backend_restricted_refuses_before_changing(lab):
    # nothing of nftables blocks 7081 (iptables does): backend=nftables must not touch anything
    res = run_module(lab['backend'], {'port': 7081, 'sources': [lab['client_ip']], 'backend': 'nftables'})
    assert res['failed'] is True and 'does not change' in res['msg'], res
    assert 'comment' not in ipt_input(lab)


def test_restore_puts_the_persisted_files_back_through_the_journal(lab):
    """The undo of an allow that did not help: rules removed, persisted files back byte for byte (owner, mode)."""
    sh = lab['lab'].sh
    sh(lab['backend'], 'chmod 0640 /etc/iptables/rules.v4')
    before = sh(lab['backend'], 'cat /etc/iptables/rules.v4').stdout
    stat_before = sh(lab['backend'], 'stat -c "%a %u %g" /etc/iptables/rules.v4').stdout
    res = run_module(lab['backend'], {'port': 7081, 'sources': [lab['client_ip']]})
    assert res['changed'] is True and res['persisted'] == ['/etc/iptables/rules.v4'], res
    assert sh(lab['backend'], 'cat /etc/iptables/rules.v4').stdout != before
    # a backup outside backup_dir is refused before anything changes
    forged = [dict(res['backups'][0], backup='/etc/shadow')]
    bad = run_module(lab['backend'], {'port': 7081, 'state': 'absent', 'persist': False, 'restore': forged})
    assert bad['failed'] is True and 'is not a backup in backup_dir' in bad['msg'], bad
    undo = run_module(lab['backend'], {'port': 7081, 'sources': [lab['client_ip']], 'state': 'absent', 'persist': False,
                                       'restore': res['backups']})
    assert undo['failed'] is False and undo['changed'] is True and undo['restored'] == ['/etc/iptables/rules.v4'], undo
    assert sh(lab['backend'], 'cat /etc/iptables/rules.v4').stdout == before
    assert sh(lab['backend'], 'stat -c "%a %u %g" /etc/iptables/rules.v4').stdout == stat_before
    assert connect_from(lab['client'], lab['backend_ip'], 7081) == 'refused'
    # the journal of the run is gone, its lock stays (shared with nginx_change)
    assert sh(lab['backend'], 'ls -A /var/lib/badgateway-nginx').stdout.split() == ['lock']


def test_nftables_persisted_survives_reload(lab):
    """The chain in /etc/nftables.conf: drop-in + include, checked by a reload as at boot."""
    sh = lab['lab'].sh
    backend = lab['backend']
    sh(backend, 'cp -p /etc/nftables.conf /tmp/nftables.conf.orig && cat /tmp/labfw.nft >> /etc/nftables.conf && '
                'nft -f /etc/nftables.conf && iptables-restore < /etc/iptables/rules.v4')
    conf_before = sh(backend, 'cat /etc/nftables.conf').stdout
    assert connect_from(lab['client'], lab['backend_ip'], 7080) == 'timeout'
    res = run_module(lab['backend'], {'port': 7080, 'sources': [lab['client_ip']]})
    assert res['changed'] is True and res['failed'] is False, res
    assert res['persisted'] == ['/etc/nftables.d/badgateway-nginx.nft', '/etc/nftables.conf']
    conf_after = sh(backend, 'cat /etc/nftables.conf').stdout
    assert conf_after.startswith(conf_before)
    assert conf_after[len(conf_before):].endswith('include "/etc/nftables.d/badgateway-nginx.nft"\n')
    entry = [b for b in res['backups'] if b['path'] == '/etc/nftables.conf'][0]
    assert entry['mode'] == '0755'
    assert sh(backend, 'cat %s' % entry['backup']).stdout == conf_before
    assert sh(backend, 'stat -c %a ' + entry['backup']).stdout.strip() == '600'
    # what nftables.service does at boot (flush ruleset + load), and netfilter-persistent
    sh(backend, 'nft -f /etc/nftables.conf && iptables-restore < /etc/iptables/rules.v4')
    assert 'ip saddr %s tcp dport 7080 accept' % lab['client_ip'] in nft_table(lab)
    assert connect_from(lab['client'], lab['backend_ip'], 7080) == 'ok'
    assert connect_host(lab['backend_ip'], 7080) == 'timeout'
    res = run_module(lab['backend'], {'port': 7080, 'sources': [lab['client_ip']]})
    assert res['changed'] is False
    # absent: runtime and the drop-in (which stays, empty, so that the include still loads)
    res = run_module(lab['backend'], {'port': 7080, 'state': 'absent'})
    assert res['changed'] is True and '/etc/nftables.d/badgateway-nginx.nft' in res['persisted'], res
    sh(backend, 'nft -f /etc/nftables.conf')
    assert 'badgateway' not in nft_table(lab)
    assert connect_from(lab['client'], lab['backend_ip'], 7080) == 'timeout'
