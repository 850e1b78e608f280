"""The ClientHello after a HelloRetryRequest (RFC 8446 section 4.1.2).

The client sends the same ClientHello again, changed only where 4.1.2 allows: the one key share
the server asked for, the cookie echoed, early_data removed, pre_shared_key updated and padding
added, removed or resized. Anything else, moving an extension to another place included, is
illegal_parameter. The hellos here are written extension by extension, in a chosen order.
"""

from __future__ import annotations

import os

import pytest

from engine import errors
from engine.errors import AlertDescription
from engine.records._suites import plaintext_records
from engine.tls import ServerConnection, codec
from engine.tls.constants import HELLO_RETRY_REQUEST_RANDOM
from engine.tls.key_exchange import KeyShare
from engine.tls.wire import opaque8, opaque16, u16, uint16_list
from tests._support.pairs import server_config

RANDOM = os.urandom(32)
SESSION_ID = os.urandom(32)
X25519, SECP256R1 = 0x001D, 0x0017

SERVER_NAME, SUPPORTED_GROUPS, SIGNATURE_ALGORITHMS, ALPN, PADDING = 0, 10, 13, 16, 21
PRE_SHARED_KEY, EARLY_DATA, SUPPORTED_VERSIONS, COOKIE = 41, 42, 43, 44
# OfferedPsks: one identity with its obfuscated age, one binder of 32 bytes (RFC 8446 4.2.11)
A_PSK = opaque16(opaque16(b"ticket") + bytes(4)) + opaque16(opaque8(bytes(32)))
PSK_MODES, KEY_SHARE = 45, 51


def extension(ext_type: int, body: bytes) -> tuple:
    return (ext_type, body)


def key_share(group: int, public: bytes) -> tuple:
    return extension(KEY_SHARE, opaque16(u16(group) + opaque16(public)))


def client_hello(extensions, *, random=RANDOM, session_id=SESSION_ID, suites=(0x1301, 0x1302),
                 legacy_version=0x0303) -> bytes:
    """A ClientHello record with exactly these extensions, in this order."""
    block = b"".join(u16(t) + opaque16(body) for t, body in extensions)
    body = b"".join((u16(legacy_version), random, opaque8(session_id), uint16_list(suites),
                     b"\x01\x00", opaque16(block)))
    return plaintext_records(22, codec.handshake(1, body))


FIRST = [
    extension(SERVER_NAME, opaque16(b"\x00" + opaque16(b"localhost"))),
    extension(SUPPORTED_VERSIONS, b"\x02\x03\x04"),
    extension(SUPPORTED_GROUPS, uint16_list([X25519, SECP256R1])),
    extension(SIGNATURE_ALGORITHMS, uint16_list([0x0403, 0x0804])),
    extension(PSK_MODES, b"\x01\x01"),
    key_share(X25519, KeyShare("x25519").public),
    extension(PADDING, bytes(40)),
]


def after_retry(pki, first=FIRST, **fields):
    """A server that answered ``first`` with a HelloRetryRequest for secp256r1; its cookie."""
    server = ServerConnection(server_config(pki, groups=("secp256r1",)))
    server.receive_data(client_hello(first, **fields))
    wire = server.data_to_send()
    assert wire[11:43] == HELLO_RETRY_REQUEST_RANDOM
    length = int.from_bytes(wire[3:5], "big")
    retry = codec.parse_server_hello(wire[9:5 + length])
    assert retry.selected_group == SECP256R1 and retry.cookie
    return server, retry.cookie


def second(extensions, cookie: bytes) -> list:
    """``extensions`` with the x25519 share swapped for a secp256r1 one, the cookie before it."""
    out = []
    for ext_type, body in extensions:
        if ext_type == KEY_SHARE:
            out.append(extension(COOKIE, opaque16(cookie)))
            out.append(key_share(SECP256R1, KeyShare("secp256r1").public))
        else:
            out.append((ext_type, body))
    return out


def refused(server, wire: bytes, match: str) -> None:
    with pytest.raises(errors.IllegalParameterError, match=match):
        server.receive_data(wire)
    alert = server.data_to_send()
    assert alert[0] == 21 and alert[6] == AlertDescription.illegal_parameter


def test_the_second_hello_with_only_the_allowed_changes_is_answered(pki):
    server, cookie = after_retry(pki)
    changed = [e for e in second(FIRST, cookie) if e[0] != PADDING]  # padding removed
    server.receive_data(client_hello(changed))
    answer = server.data_to_send()
    assert answer[5] == 2 and answer[11:43] != HELLO_RETRY_REQUEST_RANDOM  # a ServerHello


def test_padding_may_be_added_or_resized(pki):
    first = [e for e in FIRST if e[0] != PADDING]
    server, cookie = after_retry(pki, first)
    server.receive_data(client_hello([extension(PADDING, bytes(7))] + second(first, cookie)))
    assert server.data_to_send()[5] == 2


def test_early_data_may_be_removed(pki):
    first = FIRST[:-1] + [extension(EARLY_DATA, b"")]
    server, cookie = after_retry(pki, first)
    server.receive_data(client_hello(second(FIRST[:-1], cookie)))
    assert server.data_to_send()[5] == 2


def test_reordered_extensions_are_illegal_parameter(pki):
    server, cookie = after_retry(pki)
    swapped = list(FIRST)
    swapped[2], swapped[3] = swapped[3], swapped[2]  # signature_algorithms before groups
    refused(server, client_hello(second(swapped, cookie)),
            "extension 13 where the first had extension 10")


@pytest.mark.parametrize("change,match", [
    (lambda exts: [(t, uint16_list([0x0403])) if t == SIGNATURE_ALGORITHMS else (t, b)
                   for t, b in exts], "extension 13 where the first had extension 13"),
    (lambda exts: [e for e in exts if e[0] != SERVER_NAME], "had extension 0"),
    (lambda exts: exts[:1] + [extension(ALPN, opaque16(opaque8(b"h2")))] + exts[1:],
     "extension 16 where the first had extension 43"),
    (lambda exts: exts + [extension(0xFE0D, b"new")], "extension 65037 where the first had no"),
    (lambda exts: exts + [extension(EARLY_DATA, b"")], "early_data"),
    (lambda exts: exts + [extension(PRE_SHARED_KEY, A_PSK)], "adds pre_shared_key"),
], ids=["changed", "removed", "added", "added-unknown", "early_data", "pre_shared_key"])
def test_other_extension_changes_are_illegal_parameter(pki, change, match):
    server, cookie = after_retry(pki)
    refused(server, client_hello(change(second(FIRST, cookie))), match)


@pytest.mark.parametrize("fields,match", [
    ({"random": os.urandom(32)}, "random"),
    ({"session_id": b""}, "legacy_session_id"),
    ({"suites": (0x1301,)}, "cipher_suites"),
    ({"suites": (0x1302, 0x1301)}, "cipher_suites"),
    ({"legacy_version": 0x0304}, "legacy_version"),
])
def test_changed_fixed_fields_are_illegal_parameter(pki, fields, match):
    server, cookie = after_retry(pki)
    refused(server, client_hello(second(FIRST, cookie), **fields), match)


def test_a_share_for_another_group_is_illegal_parameter(pki):
    server, cookie = after_retry(pki)
    changed = [key_share(X25519, KeyShare("x25519").public) if t == KEY_SHARE else (t, b)
               for t, b in second(FIRST, cookie)]
    refused(server, client_hello(changed), "key share")


def test_a_missing_or_wrong_cookie_is_illegal_parameter(pki):
    server, cookie = after_retry(pki)
    refused(server, client_hello(second(FIRST, b"not the cookie")), "cookie")
