# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The shapes the filters and the report take (findings, nginx facts, diagnosis checks, options), checked at
the edge so that wrong-typed input is a message naming the argument and the field, never a Python error.

A shape is a small tree: ``Dict(keys, required)``, ``List(item)``, ``Map(value)`` (a dict of any keys),
``STR``, ``SCALAR`` (str, number, bool) or ``ANY``. Optional keys may be missing or null; required keys
must be there and not null. Only what the code reads is described: other keys pass unchecked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NUMBER = (int, float)


class InputError(Exception):
    """Input of the wrong shape: the message names the argument and the field."""


class Shape(object):
    name = 'a value'

    def check(self, value, where):
        return None


class _Type(Shape):
    def __init__(self, types, name):
        self.types, self.name = types, name

    def check(self, value, where):
        if not isinstance(value, self.types):
            _wrong(value, self.name, where)


ANY = Shape()
STR = _Type((str,), 'a string')
SCALAR = _Type(NUMBER + (str, bool), 'a string or a number')


class _Each(Shape):
    """A container whose every item has one shape; items() names each item's place after the container's."""
    container = object

    def __init__(self, item=ANY):
        self.item = item

    def check(self, value, where):
        if not isinstance(value, self.container):
            _wrong(value, self.name, where)
        for place, item in self.items(value):
            self.item.check(item, where + place)


class List(_Each):
    name, container = 'a list', list

    @staticmethod
    def items(value):
        return (('[%d]' % i, item) for i, item in enumerate(value))


class Map(_Each):
    """A dict of any keys whose values have one shape."""
    name, container = 'a dict', dict

    @staticmethod
    def items(value):
        return (('.%s' % key, item) for key, item in value.items())


class Dict(Shape):
    name = 'a dict'

    def __init__(self, keys=None, required=()):
        self.keys, self.required = keys or {}, tuple(required)

    def check(self, value, where):
        if not isinstance(value, dict):
            _wrong(value, self.name, where)
        for key in self.required:
            if value.get(key) is None:
                raise InputError('%s: %s is missing' % (where, key))
        for key, shape in self.keys.items():
            if value.get(key) is not None:
                shape.check(value[key], '%s.%s' % (where, key))


def _kind(value):
    """The plain type name (Ansible wraps templated values in subclasses of str, list, dict)."""
    if value is None:
        return 'NoneType'
    for plain in (bool, int, float, str, list, dict):
        if isinstance(value, plain):
            return plain.__name__
    return type(value).__name__


def _wrong(value, expected, where):
    text = repr(value)
    shown = text if len(text) <= 60 else text[:57] + '...'
    raise InputError('%s must be %s, not %s %s' % (where, expected, _kind(value), shown))


def check(value, shape, where):
    """Raise InputError when value does not have the shape; return value."""
    shape.check(value, where)
    return value


# --- the shapes of this collection's data ---------------------------------------------------

WHERE = {'file': SCALAR, 'line': SCALAR}
_SETTING = Dict(dict(WHERE, value=SCALAR))
ROUTE = Dict({'server': Dict(WHERE), 'location': Dict(dict(WHERE, match=SCALAR, modifier=SCALAR)),
              'pass': Dict(dict(WHERE, raw=SCALAR, directive=SCALAR)),
              'upstream': Dict({'name': SCALAR, 'member': SCALAR, 'member_file': SCALAR, 'file': SCALAR,
                                'line': SCALAR})})
FINDING = Dict({'id': SCALAR, 'summary': SCALAR, 'severity': SCALAR,
                'target': Dict({'text': SCALAR, 'kind': SCALAR, 'host': SCALAR, 'port': SCALAR}),
                'routes': List(ROUTE),
                'fix': Dict({'vars': Dict({'directive': SCALAR, 'value': SCALAR, 'from': SCALAR, 'to': SCALAR,
                                           'pool': SCALAR, 'pool_file': SCALAR})}),
                'evidence': Dict({'log': List(Dict({'samples': List(SCALAR)})),
                                  'pool': Dict({'max_children': SCALAR}),
                                  'processes': Dict({'rss_kb_avg': _Type(NUMBER, 'a number')})})})
FINDINGS = List(FINDING)

LISTEN = Dict({'address': SCALAR, 'port': SCALAR, 'unix': SCALAR})
TARGET = Dict({'kind': SCALAR, 'path': SCALAR, 'upstream': SCALAR, 'raw': SCALAR, 'scheme': SCALAR,
               'host': SCALAR, 'port': SCALAR, 'uri': SCALAR})
LOCATION = Dict(dict(WHERE, match=SCALAR, modifier=SCALAR, parents=List(),
                     timeouts=Map(Dict(dict(WHERE, value=SCALAR))),
                     buffers=Map(_SETTING), http_version=_SETTING,
                     headers=Dict(dict(WHERE, set=Map(_SETTING), scope=SCALAR)),
                     **{'pass': Dict(dict(WHERE, directive=SCALAR, module=SCALAR, target=TARGET, raw=SCALAR))}))
SERVER = Dict(dict(WHERE, listen=List(LISTEN), server_name=List(SCALAR), locations=List(LOCATION)))
UPSTREAM = Dict(dict(WHERE, servers=List(Dict(dict(WHERE, address=SCALAR, args=List(SCALAR))))))
FACTS = Dict({'servers': List(SERVER), 'upstreams': Map(UPSTREAM), 'user': Dict({'name': SCALAR, 'group': SCALAR}),
              'counts': Map(SCALAR), 'config': SCALAR,
              'validation': Dict({'errors': List(Dict(dict(WHERE, message=SCALAR)))}),
              'gathered': Dict({'id': SCALAR}), 'moved': Map(List(List(SCALAR)))})
# nginx_summary reads these directly
_SUMMARY_PASS = Dict(LOCATION.keys['pass'].keys, required=('directive', 'target'))
_SUMMARY_LOCATION = Dict(dict(LOCATION.keys, **{'pass': _SUMMARY_PASS}), required=('match', 'modifier'))
SUMMARY_FACTS = Dict(dict(FACTS.keys, servers=List(Dict(dict(SERVER.keys, locations=List(_SUMMARY_LOCATION)),
                                                        required=('listen', 'server_name', 'locations'))),
                          validation=Dict({'errors': List(Dict(dict(WHERE, message=SCALAR),
                                                               required=('message',)))})),
                     required=('servers',))

POOL = Dict({'name': SCALAR, 'file': SCALAR, 'max_children': SCALAR,
             'settings': Map(Dict({'value': SCALAR}))})
CHECKS = Dict({'php_fpm': Dict({'pools': List(POOL), 'configs': List(Dict({'pools': List(POOL)}))}),
               'resources': Dict({'memory': Dict({'available_kb': _Type(NUMBER, 'a number')})}),
               'http': List(Dict({'url': SCALAR})), 'probes': List(), 'listeners': ANY, 'sockets': ANY,
               'firewall': Map(), 'error_logs': ANY, 'addresses': ANY})

SELECTORS = List(Dict({'server_name': STR, 'listen': SCALAR, 'location': SCALAR, 'file': SCALAR,
                       'line': _Type((int,) + (str,), 'a line number')}))
OPTIONS = Dict({'value': SCALAR, 'maximum': SCALAR, 'also': Map(SCALAR), 'measured': Map(ANY),
                'probe_targets': List(ANY), 'probe_results': List(Dict({'header_bytes': _Type(NUMBER, 'a number')})),
                'size': SCALAR, 'listen_mode': SCALAR, 'floor': SCALAR, 'cap': SCALAR, 'reserve': SCALAR,
                'max_children': SCALAR, 'locations': SELECTORS, 'websocket': SELECTORS, 'http_version': SCALAR,
                'map_file': SCALAR, 'headers': ANY})
IDS = List(SCALAR)
