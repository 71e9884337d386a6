# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Remediation of firewall_block: plan, apply and undo one narrow ACCEPT rule.

The evidence comes from ``_firewall``: ``collect()`` reads the active
firewalls and ``decision()`` walks them for one new connection.  Here:

* ``plan_allow()`` finds, for every address (a proxy's source for direction
  ``input``, a backend for ``output``), the rule or policy that drops or
  rejects the connection in every base chain on the path, and plans one
  ACCEPT rule for exactly (protocol, port, addresses) right before it, in
  the same chain, with the tool that owns that chain (nft, iptables-nft,
  iptables-legacy, firewall-cmd, ufw).  Nothing blocked: nothing planned.
* ``find_ours()`` lists the rules that carry our comment for a port (for
  state=absent, for idempotence and for persistence).
* the persistence helpers read the nftables configuration that
  nftables.service loads (following includes), render our drop-in file and
  add its include line.

Everything returns argument lists; nothing here runs a command or writes a
file, so every decision is unit-testable offline.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import glob
import ipaddress
import os
import re
import shlex

from ansible_collections.badgateway.nginx.plugins.module_utils import _firewall as fw

COMMENT_RE = re.compile(r'^[A-Za-z0-9 ._:-]{1,64}$')
DEFAULT_COMMENT = 'badgateway.nginx'
BACKENDS = ('auto', 'nftables', 'iptables', 'firewalld', 'ufw')
PROTOCOLS = ('tcp', 'udp')

# the file nftables.service loads (Debian/Ubuntu/Arch, then Fedora/RHEL)
NFT_CONFIGS = ('/etc/nftables.conf', '/etc/sysconfig/nftables.conf')
NFT_DROPIN = '/etc/nftables.d/badgateway-nginx.nft'
# what netfilter-persistent (Debian) and iptables-services (RHEL) restore at boot
IPT_FILES = {'ip': ('/etc/iptables/rules.v4', '/etc/sysconfig/iptables'),
             'ip6': ('/etc/iptables/rules.v6', '/etc/sysconfig/ip6tables')}

_HANDLE = re.compile(r'#\s*handle\s+(\d+)\s*$', re.M)

# How wide the union of the addresses of one rule may be, per IP version: at most a /16 of IPv4 and a /48
# of IPv6 (one site) unless the caller sets allow_wide_sources; with it at most a /8 and a /32.  The whole
# address space (the world, however it is spelled) is never allowed.
NARROW_PREFIX = {4: 16, 6: 48}
WIDE_PREFIX = {4: 8, 6: 32}
_BITS = {4: 32, 6: 128}
# ::ffff:a.b.c.d: an IPv4 connection as a dual-stack socket shows it; on the wire (and to the firewall) it is IPv4
IPV4_MAPPED = ipaddress.ip_network('::ffff:0:0/96')
# 64:ff9b::a.b.c.d: NAT64, IPv6 packets that stand for IPv4 hosts, counted as the IPv4 addresses they embed
NAT64 = ipaddress.ip_network('64:ff9b::/96')


class FirewallEditError(Exception):
    """A request that is refused, or a state that cannot be changed safely."""


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------

def check_comment(comment):
    if not isinstance(comment, str) or not COMMENT_RE.match(comment):
        raise FirewallEditError('comment %r refused: 1 to 64 characters among letters, digits, space and ._:-'
                                % (comment,))
    if comment != comment.strip():
        raise FirewallEditError('comment %r refused: no leading or trailing space' % (comment,))
    return comment


ZONE = re.compile(r'^[A-Za-z0-9_.+-]{1,64}$')


def check_zone(zone):
    """A firewalld zone name (None: the default zone): letters, digits and _.+- only."""
    if zone is not None and not ZONE.match(zone):
        raise FirewallEditError('zone %r refused: 1 to 64 characters among letters, digits and _.+-' % zone)
    return zone


def check_backup_dir(path, option='backup_dir'):
    """A directory option (backup_dir, journal_dir): an absolute path without NUL bytes."""
    if '\x00' in path or not os.path.isabs(path):
        raise FirewallEditError('%s %r refused: it must be an absolute path without NUL bytes' % (option, path))
    return path


def check_port(port):
    try:
        value = int(port)
    except (TypeError, ValueError):
        raise FirewallEditError('port %r is not a number' % (port,))
    if not 1 <= value <= 65535:
        raise FirewallEditError('port %d is not between 1 and 65535' % value)
    return value


def parse_addresses(values, what='sources'):
    """IPv4/IPv6 addresses or CIDRs -> ip_network list (sorted, unique); refuses the world and names."""
    if not values:
        raise FirewallEditError('%s must name at least one address: never open to the world' % what)
    nets = []
    for value in values:
        text = str(value).strip().strip('[]') if value is not None else ''
        if '%' in text:
            raise FirewallEditError('%s: %r carries an IPv6 scope id (%%zone): a firewall rule matches addresses, '
                                    'not interfaces; give the address without it' % (what, value))
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as e:
            if '/' in text:
                try:
                    loose = ipaddress.ip_network(text, strict=False)
                except ValueError:
                    loose = None
                if loose is not None:
                    raise FirewallEditError('%s: %r has host bits set (did you mean %s or a single address?)'
                                            % (what, value, loose))
            raise FirewallEditError('%s: %r is not an IPv4/IPv6 address or CIDR (%s)' % (what, value, e))
        if net.prefixlen == 0:
            raise FirewallEditError('%s: %s would open the port to the world: refused' % (what, net))
        if net.version == 6 and net.prefixlen >= IPV4_MAPPED.prefixlen and net.network_address in IPV4_MAPPED:
            raise FirewallEditError('%s: %s holds IPv4-mapped addresses (::ffff:a.b.c.d): the firewall sees those '
                                    'connections as IPv4, so the rule would never match; give the IPv4 address '
                                    'or network' % (what, net))
        if net not in nets:
            nets.append(net)
    return sorted(nets, key=lambda n: (n.version, n.network_address, n.prefixlen))


def address_union(nets):
    """{4: [...], 6: [...]}: the collapsed union of the networks per IP version; NAT64 networks also count as
    the IPv4 addresses they stand for."""
    by_version = {4: [], 6: []}
    for net in nets:
        by_version[net.version].append(net)
        if net.version == 6 and net.prefixlen >= 96 and net.network_address in NAT64:
            embedded = int(net.network_address) & 0xffffffff
            by_version[4].append(ipaddress.ip_network((embedded, net.prefixlen - 96)))
    return dict((v, list(ipaddress.collapse_addresses(n))) for v, n in by_version.items() if n)


def check_width(nets, allow_wide=False, what='sources'):
    """Refuse a set of addresses whose union is wider than the proxies need (more than a NARROW_PREFIX
    network, or a WIDE_PREFIX one with allow_wide), and always the whole address space."""
    for version, union in sorted(address_union(nets).items()):
        bits = _BITS[version]
        count = sum(n.num_addresses for n in union)
        shown = ', '.join(str(n) for n in union[:4]) + (', ...' if len(union) > 4 else '')
        if count >= 2 ** bits:
            raise FirewallEditError('%s: together they cover every IPv%d address (%s): that opens the port to the '
                                    'world, refused (allow_wide_sources does not change that)'
                                    % (what, version, shown))
        limit = (WIDE_PREFIX if allow_wide else NARROW_PREFIX)[version]
        if count > 2 ** (bits - limit):
            if allow_wide:
                raise FirewallEditError('%s: together they cover %d IPv%d addresses (%s), wider than a /%d, the '
                                        'most allowed even with allow_wide_sources: refused'
                                        % (what, count, version, shown, limit))
            raise FirewallEditError('%s: together they cover %d IPv%d addresses (%s), wider than a /%d, more than '
                                    'proxies need: refused (allow_wide_sources: true allows up to a /%d)'
                                    % (what, count, version, shown, limit, WIDE_PREFIX[version]))
    return nets


def check_timeout(timeout):
    if timeout is None or int(timeout) < 1:
        raise FirewallEditError('timeout %r refused: each firewall command needs at least 1 second' % (timeout,))
    return int(timeout)


def read_error(collected):
    """Why the firewalls could not be read completely (a message), or None.

    A ruleset that could not be read (a command that failed, timed out or printed what cannot be evaluated)
    is unknown, not open: nothing may be concluded from the rest."""
    errors = collected.get('errors') or []
    if not errors:
        return None
    return 'cannot read the firewall (%s): a ruleset that cannot be read is unknown, not open' % '; '.join(errors)


def addr_text(net):
    """10.0.0.5 for a single address, 10.0.0.0/24 for a network."""
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def family_of(net):
    return 'ip6' if net.version == 6 else 'ip'


# --------------------------------------------------------------------------
# who owns a blocking match
# --------------------------------------------------------------------------

def owner_of(match, collected):
    """The tool that should change the chain of a blocking match."""
    backend = match.get('backend')
    if backend == 'nftables' and match.get('table') == 'firewalld' and collected.get('firewalld') == 'running':
        return 'firewalld'
    if backend in ('iptables-nft', 'iptables-legacy') and collected.get('ufw') == 'active' and match.get('table') == 'filter':
        chain = match.get('chain') or ''
        if chain.startswith('ufw') or (match.get('policy') and chain in ('INPUT', 'OUTPUT')):
            return 'ufw'
    return backend


def backend_allows(option, owner):
    if option == 'auto':
        return True
    if option == 'iptables':
        return owner in ('iptables-nft', 'iptables-legacy')
    return option == owner


# --------------------------------------------------------------------------
# rule texts and argument lists
# --------------------------------------------------------------------------

def _field(direction):
    return 'saddr' if direction == 'input' else 'daddr'


def nft_rule_words(direction, family, addresses, proto, port, comment):
    """Words of the nft rule: ip saddr { a, b } tcp dport N accept comment "c"."""
    words = [family, _field(direction)]
    texts = [addr_text(a) for a in addresses]
    if len(texts) == 1:
        words.append(texts[0])
    else:
        words.append('{')
        words.extend([t + ',' for t in texts[:-1]] + [texts[-1]])
        words.append('}')
    words += [proto, 'dport', str(port), 'accept', 'comment', '"%s"' % comment]
    return words


def nft_rule_text(direction, family, addresses, proto, port, comment):
    return ' '.join(nft_rule_words(direction, family, addresses, proto, port, comment))


def ipt_rule_spec(direction, address, proto, port, comment):
    """iptables match and target (after -I CHAIN [pos]) for one address."""
    return ['-s' if direction == 'input' else '-d', addr_text(address), '-p', proto, '-m', proto,
            '--dport', str(port), '-m', 'comment', '--comment', comment, '-j', 'ACCEPT']


def ipt_save_line(chain, direction, address, proto, port, comment):
    """The line iptables-save prints for the rule ipt_rule_spec() adds."""
    net = address
    shown = '%s/%d' % (net.network_address, net.prefixlen)
    quoted = '"%s"' % comment  # iptables 1.8.9 quotes every comment
    return '-A %s %s %s -p %s -m %s --dport %d -m comment --comment %s -j ACCEPT' % (
        chain, '-s' if direction == 'input' else '-d', shown, proto, proto, port, quoted)


def ipt_tool(backend, family, which=None):
    """iptables-nft / ip6tables-legacy / ..., or the plain name when only that exists."""
    which = which or fw.which
    prefix = 'ip6tables' if family == 'ip6' else 'iptables'
    variant = '%s-%s' % (prefix, 'nft' if backend == 'iptables-nft' else 'legacy')
    return variant if which(variant) else prefix


def ipt_save_tool(backend, family, which=None):
    return ipt_tool(backend, family, which) + '-save'


def ufw_words(direction, address, proto, port):
    if direction == 'input':
        return ['allow', 'from', addr_text(address), 'to', 'any', 'port', str(port), 'proto', proto]
    return ['allow', 'out', 'to', addr_text(address), 'port', str(port), 'proto', proto]


def firewalld_rich_rule(direction, address, proto, port):
    fam = 'ipv6' if address.version == 6 else 'ipv4'
    where = 'source' if direction == 'input' else 'destination'
    return 'rule family="%s" %s address="%s" port port="%d" protocol="%s" accept' % (
        fam, where, addr_text(address), port, proto)


def firewalld_argvs(rule, zone, add=True):
    """Runtime and permanent (two commands: --permanent alone does not touch the running firewall)."""
    zone_arg = ['--zone=%s' % zone] if zone else []
    verb = '--add-rich-rule=%s' if add else '--remove-rich-rule=%s'
    return [['firewall-cmd'] + zone_arg + [verb % rule],
            ['firewall-cmd', '--permanent'] + zone_arg + [verb % rule]]


def nft_delete_argv(family, table, chain, handle):
    return ['nft', 'delete', 'rule', family, table, chain, 'handle', str(handle)]


def echoed_handle(text):
    """The handle nft --echo --handle printed for a new rule, or None."""
    found = _HANDLE.findall(text or '')
    return int(found[-1]) if found else None


# --------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------

def _ipt_position(collected, match):
    """1-based position of the blocking rule in its chain (iptables), None for a policy."""
    if match.get('policy'):
        return None
    texts = collected.get('iptables') or {}
    fam6 = match.get('family') == 'ip6'
    key = {'iptables-nft': 'ip6_nft' if fam6 else 'nft',
           'iptables-legacy': 'ip6_legacy' if fam6 else 'legacy'}[match['backend']]
    tables = fw.parse_save(texts.get(key))
    lines = ((tables.get(match['table']) or {}).get('rules') or {}).get(match['chain']) or []
    for index, line in enumerate(lines):
        if line.strip() == (match.get('rule') or '').strip():
            return index + 1
    raise FirewallEditError('cannot find the position of %s' % fw.describe(match))


def _match_key(match):
    return (match.get('backend'), match.get('family'), match.get('table'), match.get('chain'),
            match.get('handle'), match.get('rule'), bool(match.get('policy')))


def evaluate(collected, direction, port, proto, addresses):
    """[(address, decision)]: the verdict for each address (its first address for a network)."""
    out = []
    for net in addresses:
        rep = str(net.network_address)
        if direction == 'input':
            d = fw.decision(collected, 'input', port, peer=rep, proto=proto)
        else:
            d = fw.decision(collected, 'output', port, address=rep, proto=proto)
        out.append((net, d))
    return out


def plan_allow(collected, direction, port, proto, addresses, comment, backend='auto', zone=None, which=None):
    """What to add so that every address gets through.

    Returns {blocking: [match + address + owner + text], actions: [...],
    unhandled: [blocking matches backend= does not cover], uncertain: [...]}.
    An action: {backend, family (of the addresses), table_family, table,
    chain, position, before (text of the blocking rule or policy),
    addresses, rule (text as the firewall lists it), argv: [argument lists],
    undo: [argument lists] (known before running only for iptables/ufw/firewalld)}.
    """
    groups = {}
    order = []
    blocking, unhandled, uncertain = [], [], []
    for net, d in evaluate(collected, direction, port, proto, addresses):
        if d['verdict'] != 'accept' and not d['certain']:
            uncertain.append(addr_text(net))
        for match in d['blocking']:
            owner = owner_of(match, collected)
            entry = dict(match, address=addr_text(net), owner=owner, text=fw.describe(match))
            blocking.append(entry)
            if not backend_allows(backend, owner):
                unhandled.append(entry)
                continue
            key = (owner,) + _match_key(match) + (family_of(net),)
            if key not in groups:
                groups[key] = (owner, match, [])
                order.append(key)
            groups[key][2].append(net)
    actions = []
    for key in order:
        owner, match, nets = groups[key]
        actions.extend(_actions_for(collected, owner, match, nets, direction, port, proto, comment, zone, which))
    # ufw and firewalld rules are per address, not per chain: one command each
    seen, unique = set(), []
    for action in actions:
        ident = (action['backend'], action['rule'])
        if action['backend'] in ('ufw', 'firewalld') and ident in seen:
            continue
        seen.add(ident)
        unique.append(action)
    return {'blocking': blocking, 'actions': unique, 'unhandled': unhandled, 'uncertain': uncertain}


def _actions_for(collected, owner, match, nets, direction, port, proto, comment, zone, which):
    fam = family_of(nets[0])
    before = match.get('rule') or match.get('verdict')
    base = {'backend': owner, 'family': fam, 'table_family': match.get('family'), 'table': match.get('table'),
            'chain': match.get('chain'), 'before': before, 'addresses': [addr_text(n) for n in nets]}
    if owner == 'nftables':
        if match.get('family') not in ('inet', fam):
            raise FirewallEditError('%s: a %s rule cannot go in a %s table' % (fw.describe(match), fam,
                                                                               match.get('family')))
        words = nft_rule_words(direction, fam, nets, proto, port, comment)
        if match.get('policy'):
            argv = ['nft', '--echo', '--handle', 'add', 'rule', match['family'], match['table'], match['chain']] + words
            position = None
        elif match.get('handle') is not None:
            argv = ['nft', '--echo', '--handle', 'insert', 'rule', match['family'], match['table'], match['chain'],
                    'position', str(match['handle'])] + words
            position = match['handle']
        else:
            raise FirewallEditError('no handle for %s: cannot insert before it' % fw.describe(match))
        return [dict(base, position=position, rule=' '.join(words), argv=[argv], undo=[])]
    if owner in ('iptables-nft', 'iptables-legacy'):
        tool = ipt_tool(owner, fam, which)
        position = _ipt_position(collected, match)
        out = []
        for offset, net in enumerate(nets):
            spec = ipt_rule_spec(direction, net, proto, port, comment)
            if position is None:
                argv = [tool, '-w', '5', '-t', match['table'], '-A', match['chain']] + spec
            else:
                argv = [tool, '-w', '5', '-t', match['table'], '-I', match['chain'], str(position + offset)] + spec
            undo = [tool, '-w', '5', '-t', match['table'], '-D', match['chain']] + spec
            out.append(dict(base, addresses=[addr_text(net)],
                            position=None if position is None else position + offset,
                            rule=ipt_save_line(match['chain'], direction, net, proto, port, comment),
                            argv=[argv], undo=[undo]))
        return out
    if owner == 'ufw':
        out = []
        for net in nets:
            words = ufw_words(direction, net, proto, port)
            out.append(dict(base, addresses=[addr_text(net)], position=1,
                            rule='ufw ' + ' '.join(words) + " comment '%s'" % comment,
                            argv=[['ufw', 'prepend'] + words + ['comment', comment]],
                            undo=[['ufw', 'delete'] + words]))
        return out
    if owner == 'firewalld':
        if direction != 'input':
            raise FirewallEditError('%s is firewalld on the output path: firewalld zones do not filter output; '
                                    'change the policy by hand' % fw.describe(match))
        out = []
        for net in nets:
            rule = firewalld_rich_rule(direction, net, proto, port)
            out.append(dict(base, addresses=[addr_text(net)], position=None, rule=rule,
                            argv=firewalld_argvs(rule, zone, True), undo=firewalld_argvs(rule, zone, False)))
        return out
    raise FirewallEditError('%s: backend %s cannot be changed here' % (fw.describe(match), owner))


# --------------------------------------------------------------------------
# our rules (comment + port)
# --------------------------------------------------------------------------

def _addr_values(right):
    items = right['set'] if isinstance(right, dict) and 'set' in right else [right]
    if not isinstance(items, list):
        items = [items]
    out = []
    for item in items:
        if isinstance(item, dict) and 'prefix' in item:
            out.append('%s/%s' % (item['prefix']['addr'], item['prefix']['len']))
        elif isinstance(item, str):
            out.append(item)
        else:
            return None
    return out


def nft_rule_summary(body):
    """{field, family, addresses, proto, port, verdict} of a simple rule, None for anything else."""
    info = {'field': None, 'family': None, 'addresses': None, 'proto': None, 'port': None, 'verdict': None}
    for expr in body.get('expr') or []:
        if not isinstance(expr, dict) or len(expr) != 1:
            return None
        key, value = list(expr.items())[0]
        if key == 'match':
            left = (value.get('left') or {}).get('payload') or {}
            if value.get('op', '==') not in ('==', 'in'):
                return None
            if left.get('protocol') in ('ip', 'ip6') and left.get('field') in ('saddr', 'daddr'):
                info.update(field=left['field'], family=left['protocol'], addresses=_addr_values(value.get('right')))
            elif left.get('protocol') in PROTOCOLS and left.get('field') == 'dport' and isinstance(value.get('right'), int):
                info.update(proto=left['protocol'], port=value['right'])
            else:
                return None
        elif key in ('accept', 'drop', 'reject'):
            info['verdict'] = key
        elif key != 'counter':
            return None
    return info


def _wanted(info, direction, port, proto, addresses):
    if info is None or info['verdict'] != 'accept' or info['field'] != _field(direction):
        return False
    if info['port'] != port or info['proto'] != proto or info['addresses'] is None:
        return False
    if addresses is not None:
        given = set(addr_text(a) for a in addresses)
        if not set(_norm(a) for a in info['addresses']) <= given:
            return False
    return True


def _norm(text):
    try:
        return addr_text(ipaddress.ip_network(text.strip('[]'), strict=False))
    except ValueError:
        return text


def find_ours(collected, direction, port, proto, comment, addresses=None, backends=None, which=None):
    """Rules with our comment that accept (proto, port) for some of the addresses (all when None).

    Each: {backend, family, table_family, table, chain, handle, rule, addresses, undo: [argv]}.
    ufw and firewalld rules are found by ufw_ours() / firewalld_ours() (other commands).
    """
    found = []
    if backends is None or 'nftables' in backends:
        for body in _nft_ours(collected, comment):
            info = nft_rule_summary(body)
            if not _wanted(info, direction, port, proto, addresses):
                continue
            found.append({'backend': 'nftables', 'family': info['family'], 'table_family': body['family'],
                          'table': body['table'], 'chain': body['chain'], 'handle': body.get('handle'),
                          'rule': fw.nft_rule_text(body), 'addresses': [_norm(a) for a in info['addresses']],
                          'undo': [nft_delete_argv(body['family'], body['table'], body['chain'], body.get('handle'))]})
    incompatible = set(collected.get('iptables_nft_incompatible') or ())
    for backend, key, fam in (('iptables-nft', 'nft', 'ip'), ('iptables-nft', 'ip6_nft', 'ip6'),
                              ('iptables-legacy', 'legacy', 'ip'), ('iptables-legacy', 'ip6_legacy', 'ip6')):
        if backends is not None and backend not in backends:
            continue
        for table, info in fw.parse_save((collected.get('iptables') or {}).get(key)).items():
            if backend == 'iptables-nft' and '%s %s' % (fam, table) in incompatible:
                continue
            for chain, lines in info['rules'].items():
                for line in lines:
                    summary = ipt_line_summary(line)
                    if summary is None or summary['comment'] != comment:
                        continue
                    if not _wanted(summary, direction, port, proto, addresses):
                        continue
                    tool = ipt_tool(backend, fam, which)
                    found.append({'backend': backend, 'family': fam, 'table_family': fam, 'table': table,
                                  'chain': chain, 'handle': None, 'rule': line, 'addresses': summary['addresses'],
                                  'undo': [[tool, '-w', '5', '-t', table, '-D'] + shlex.split(line)[1:]]})
    return found


def _nft_ours(collected, comment):
    """The nft rule bodies with our comment, in ruleset order, but not those of iptables-nft's tables."""
    owned = set(collected.get('iptables_nft_tables') or ())
    for obj in (collected.get('nft') or {}).get('nftables') or ():
        body = obj.get('rule') if isinstance(obj, dict) else None
        if not body or body.get('comment') != comment:
            continue
        if '%s %s' % (body.get('family'), body.get('table')) in owned:
            continue
        yield body


def nft_ours_all(collected, comment):
    """Every nft rule with our comment (any port, any direction), in ruleset order."""
    found = []
    for body in _nft_ours(collected, comment):
        found.append({'backend': 'nftables', 'table_family': body['family'], 'table': body['table'],
                      'chain': body['chain'], 'handle': body.get('handle'), 'rule': fw.nft_rule_text(body)})
    return found


def ipt_line_summary(line):
    """{field, addresses, proto, port, comment, verdict} of '-A CHAIN -s A -p tcp ... -j ACCEPT', or None."""
    try:
        tokens = shlex.split(line)
    except ValueError:
        return None
    info = {'field': None, 'addresses': None, 'proto': None, 'port': None, 'comment': None, 'verdict': None,
            'family': None}
    i = 2
    while i < len(tokens):
        tok = tokens[i]
        arg = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok == '!':
            return None
        if tok in ('-s', '-d'):
            info['field'] = 'saddr' if tok == '-s' else 'daddr'
            info['addresses'] = [_norm(a) for a in arg.split(',')]
        elif tok == '-p':
            info['proto'] = arg
        elif tok == '--dport':
            if not arg.isdigit():
                return None
            info['port'] = int(arg)
        elif tok == '--comment':
            info['comment'] = arg
        elif tok == '-j':
            info['verdict'] = arg.lower()
            if i + 2 < len(tokens):
                return None
        elif tok == '-m' and arg in ('tcp', 'udp', 'comment'):
            pass
        else:
            return None
        i += 2
    return info


def ufw_ours(text, direction, port, proto, comment, addresses=None):
    """Rules of ``ufw show added`` with our comment: [{rule, addresses, undo}]."""
    found = []
    for line in (text or '').splitlines():
        line = line.strip()
        if not line.startswith('ufw '):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            continue
        if 'comment' not in tokens:
            continue
        at = tokens.index('comment')
        if tokens[at + 1:at + 2] != [comment]:
            continue
        words = tokens[1:at] + tokens[at + 2:]
        if not words or words[0] != 'allow':
            continue
        out = words[1:2] == ['out']
        if out != (direction == 'output'):
            continue
        kv = dict(zip(words, words[1:]))
        addr = kv.get('from') if direction == 'input' else kv.get('to')
        if kv.get('port') != str(port) or kv.get('proto') != proto or not addr or addr == 'any':
            continue
        if addresses is not None and _norm(addr) not in set(addr_text(a) for a in addresses):
            continue
        found.append({'backend': 'ufw', 'family': 'ip6' if ':' in addr else 'ip', 'table_family': None,
                      'table': None, 'chain': None, 'handle': None, 'rule': line, 'addresses': [_norm(addr)],
                      'undo': [['ufw', 'delete'] + words]})
    return found


def firewalld_ours(text, direction, port, proto, addresses, zone=None):
    """Rich rules (``firewall-cmd --list-rich-rules``) that are exactly ours for the addresses."""
    found = []
    if not addresses:
        return found
    lines = set(line.strip() for line in (text or '').splitlines())
    for net in addresses:
        rule = firewalld_rich_rule(direction, net, proto, port)
        if rule in lines:
            found.append({'backend': 'firewalld', 'family': family_of(net), 'table_family': None, 'table': None,
                          'chain': None, 'handle': None, 'rule': rule, 'addresses': [addr_text(net)],
                          'undo': firewalld_argvs(rule, zone, False)})
    return found


# --------------------------------------------------------------------------
# listings for --diff
# --------------------------------------------------------------------------

def chain_listing(collected, chains):
    """Text of the chains [(backend, table_family, table, chain)] as the firewall lists them."""
    lines = []
    owned = set(collected.get('iptables_nft_tables') or ())
    for backend, tfam, table, chain in chains:
        if backend == 'nftables':
            lines.append('nftables %s %s %s:' % (tfam, table, chain))
            for obj in (collected.get('nft') or {}).get('nftables') or ():
                body = obj.get('rule') if isinstance(obj, dict) else None
                if body and (body.get('family'), body.get('table'), body.get('chain')) == (tfam, table, chain) \
                        and '%s %s' % (tfam, table) not in owned:
                    lines.append('  %s # handle %s' % (fw.nft_rule_text(body), body.get('handle')))
        elif backend in ('iptables-nft', 'iptables-legacy'):
            key = {'iptables-nft': 'nft', 'iptables-legacy': 'legacy'}[backend]
            if tfam == 'ip6':
                key = 'ip6_' + key
            lines.append('%s %s %s %s:' % (backend, tfam, table, chain))
            info = fw.parse_save((collected.get('iptables') or {}).get(key)).get(table) or {}
            for line in (info.get('rules') or {}).get(chain) or []:
                lines.append('  %s' % line)
    return '\n'.join(lines) + ('\n' if lines else '')


def predicted_listing(collected, chains, actions):
    """chain_listing() with the planned rules inserted where they will go (check mode)."""
    text = chain_listing(collected, chains)
    lines = text.splitlines()
    for action in actions:
        if action['backend'] not in ('nftables', 'iptables-nft', 'iptables-legacy'):
            continue
        header = '%s %s %s %s:' % (action['backend'], action['table_family'], action['table'], action['chain'])
        if header not in lines:
            continue
        start = lines.index(header) + 1
        end = start
        while end < len(lines) and lines[end].startswith('  '):
            end += 1
        new = '  %s (planned)' % action['rule']
        at = end
        if action['position'] is not None:
            for i in range(start, end):
                line = lines[i]
                if action['backend'] == 'nftables' and line.endswith('# handle %s' % action['position']):
                    at = i
                    break
                if action['backend'] != 'nftables' and i - start + 1 == action['position']:
                    at = i
                    break
        lines.insert(at, new)
    return '\n'.join(lines) + ('\n' if lines else '')


# --------------------------------------------------------------------------
# nftables persistence
# --------------------------------------------------------------------------

_NFT_TOKEN = re.compile(r'"[^"\n]*"|[{};\n]|[^\s{};"]+')
_NFT_FAMILIES = ('ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev')


def _nft_tokens(text):
    out = []
    for line in text.splitlines():
        in_quote = False
        cut = len(line)
        for i, ch in enumerate(line):
            if ch == '"':
                in_quote = not in_quote
            elif ch == '#' and not in_quote:
                cut = i
                break
        out.extend(_NFT_TOKEN.findall(line[:cut]))
        out.append('\n')
    return out


def nft_config_file(exists=os.path.exists):
    for path in NFT_CONFIGS:
        if exists(path):
            return path
    return None


def nft_declared(path, read=None, skip=(NFT_DROPIN,), depth=0, seen=None):
    """(family, table, chain) declared by an nft -f file and the files it includes (globs too)."""
    read = read or _read_text
    seen = seen if seen is not None else set()
    declared = set()
    if depth > 16 or path in seen or path in skip:
        return declared
    seen.add(path)
    try:
        text = read(path)
    except (IOError, OSError):
        return declared
    tokens = _nft_tokens(text)
    stack = []
    statement = []
    base = os.path.dirname(path)
    for tok in tokens:
        if tok in ('\n', ';', '{', '}'):
            words = statement
            statement = []
            if tok == '{':
                kind = None
                if words[:1] == ['table'] and not any(s[0] in ('table', 'other') for s in stack):
                    fam = words[1] if len(words) > 2 and words[1] in _NFT_FAMILIES else 'ip'
                    kind = ('table', fam, words[-1])
                elif words[:1] == ['chain'] and stack and stack[-1][0] == 'table' and len(words) == 2:
                    kind = ('chain', words[1])
                    declared.add((stack[-1][1], stack[-1][2], words[1]))
                stack.append(kind or ('other',))
            elif tok == '}':
                if stack:
                    stack.pop()
            elif words:
                _statement(words, stack, declared, base, read, skip, depth, seen)
            continue
        statement.append(tok)
    return declared


def _statement(words, stack, declared, base, read, skip, depth, seen):
    if words[0] == 'include' and len(words) == 2 and not stack:
        pattern = words[1].strip('"')
        if not os.path.isabs(pattern):
            pattern = os.path.join(base, pattern)
        for path in sorted(glob.glob(pattern)) if any(c in pattern for c in '*?[') else [pattern]:
            declared.update(nft_declared(path, read, skip, depth + 1, seen))
    elif words[0] in ('add', 'create') and len(words) >= 4 and words[1] == 'chain':
        rest = words[2:]
        if rest[0] in _NFT_FAMILIES and len(rest) >= 3:
            declared.add((rest[0], rest[1], rest[2]))
        elif len(rest) >= 2:
            declared.add(('ip', rest[0], rest[1]))


def _read_text(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'replace')


def includes_dropin(conf_text, conf_path, dropin=NFT_DROPIN):
    """Whether a top-level include of the config already covers the drop-in file."""
    for line in conf_text.splitlines():
        m = re.match(r'^\s*include\s+"([^"]+)"', line)
        if not m:
            continue
        pattern = m.group(1)
        if not os.path.isabs(pattern):
            pattern = os.path.join(os.path.dirname(conf_path), pattern)
        if pattern == dropin or fnmatch.fnmatch(dropin, pattern):
            return True
    return False


def with_include(conf_bytes, dropin=NFT_DROPIN):
    """The config with our include line appended (after everything it declares)."""
    text = conf_bytes
    if text and not text.endswith(b'\n'):
        text += b'\n'
    return text + ('# badgateway.nginx: narrow accept rules (firewall_allow)\ninclude "%s"\n' % dropin).encode()


def dropin_text(rules, comment):
    """The drop-in: empty declarations (no-ops when the config declared the chains) + one insert per rule.

    rules: find_ours() entries of backend nftables, in chain order; inserted
    in reverse so that the chain's start lists them in that order.
    """
    lines = ['# Managed by badgateway.nginx firewall_allow (comment "%s"): do not edit.' % comment,
             '# Included from the file nftables.service loads; every rule is inserted at the start of its chain.',
             '']
    chains = []
    for r in rules:
        key = (r['table_family'], r['table'], r['chain'])
        if key not in chains:
            chains.append(key)
    for fam, table, chain in chains:
        lines += ['table %s %s {' % (fam, table), '    chain %s {' % chain, '    }', '}']
    for r in reversed(rules):
        lines.append('insert rule %s %s %s %s' % (r['table_family'], r['table'], r['chain'], r['rule']))
    return '\n'.join(lines) + '\n'


def persistable_nft(rules, declared):
    """Split our nft rules into those whose chain the persisted config declares, and the others."""
    keep, runtime_only = [], []
    for r in rules:
        (keep if (r['table_family'], r['table'], r['chain']) in declared else runtime_only).append(r)
    return keep, runtime_only


def ipt_persist_file(family, exists=os.path.exists):
    for path in IPT_FILES[family]:
        if exists(path):
            return path
    return None


def backup_name(path, stamp):
    return '%s.%s.bak' % (path.strip('/').replace('/', '_'), stamp)
