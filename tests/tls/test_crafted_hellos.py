"""A ClientHello built to be expensive costs what its size costs, no more.

Each crafted hello fills the extensions block (about 64 KB) with thousands of small values of
one kind; the server must process it in time linear in its size. The bound is a ratio measured
in the same run: the crafted hello against a normal engine ClientHello, both answered with a
full server flight. Work linear in the size stays within a few dozen normal hellos; one step
quadratic in the number of values (every key share looked up in a list of thousands of groups,
say) costs a thousand and more.
"""

from __future__ import annotations

import os
import time

import pytest

from engine.records._suites import plaintext_records
from engine.tls import ClientConnection, ServerConnection, codec
from engine.tls.constants import HELLO_RETRY_REQUEST_RANDOM
from engine.tls.key_exchange import KeyShare
from engine.tls.wire import opaque16
from tests._support.pairs import client_config, server_config
from tests._support.timing import least_ratio

BOUND = 250  # crafted / normal: linear processing measures 5 to 70 here, quadratic over 1000
BLOCK = 65535 - 300  # what is left of the extensions block beside the fixed extensions
SHARE = KeyShare("x25519").public
RANDOM = os.urandom(32)


def hello_fields(**changes) -> dict:
    fields = dict(
        random=RANDOM, legacy_session_id=b"", cipher_suites=[0x1301],
        supported_versions=[0x0304], supported_groups=[0x1D], signature_algorithms=[0x0403],
        key_share=[(0x1D, SHARE)], alpn_protocols=[b"http/1.1"], server_name="localhost",
    )
    fields.update(changes)
    return fields


def wire(**changes) -> bytes:
    return plaintext_records(22, codec.build_client_hello(codec.ClientHello(**hello_fields(
        **changes))))


def crafted_hellos():
    count = BLOCK // 7  # a 5-byte key share and a 2-byte group each
    groups = [0x2000 + i for i in range(count)]
    names = b"".join(b"\x01" + opaque16(b"a") for _ in range(BLOCK // 4))
    return {
        "key shares": wire(supported_groups=groups + [0x1D],
                           key_share=[(g, b"\x01") for g in groups] + [(0x1D, SHARE)]),
        "supported groups": wire(supported_groups=list(range(0x2000, 0x2000 + BLOCK // 2))
                                 + [0x1D]),
        "signature algorithms": wire(signature_algorithms=list(range(0x2000, 0x2000 + BLOCK // 2))
                                     + [0x0403]),
        "cipher suites": wire(cipher_suites=list(range(0x2000, 0x2000 + BLOCK // 2)) + [0x1301]),
        "extensions": wire(other_extensions=[(0x3000 + i, b"") for i in range(BLOCK // 4)]),
        "alpn protocols": wire(alpn_protocols=[b"%04x" % i for i in range(BLOCK // 5 - 10)]
                               + [b"http/1.1"]),
        "server names": wire(server_name=None, other_extensions=[(0, opaque16(names))]),
    }


CRAFTED = crafted_hellos()


def answer_time(config, hello: bytes) -> float:
    """The time a fresh server takes to answer ``hello``."""
    server = ServerConnection(config)
    start = time.perf_counter()
    server.receive_data(hello)
    server.data_to_send()
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def normal(pki):
    """A normal engine ClientHello and the time a server takes to answer it."""
    config = server_config(pki, alpn_protocols=("http/1.1",))
    hello = ClientConnection(client_config(pki, alpn_protocols=("http/1.1",))).data_to_send()
    return lambda: answer_time(config, hello)


@pytest.mark.parametrize("kind", sorted(CRAFTED))
def test_a_crafted_maximum_size_hello_costs_what_its_size_costs(pki, normal, kind):
    config = server_config(pki, alpn_protocols=("http/1.1",))
    hello = CRAFTED[kind]
    assert len(hello) > 60_000  # near the most an extensions block holds
    server = ServerConnection(config)
    server.receive_data(hello)
    assert server.data_to_send()[5] == 2  # answered with a ServerHello: the whole path ran
    ratio = least_ratio(lambda: answer_time(config, hello), normal)
    assert ratio < BOUND, "%s: %.0f normal hellos" % (kind, ratio)


def test_a_crafted_pair_of_hellos_around_a_retry_costs_what_its_size_costs(pki, normal):
    """The second ClientHello is compared with the first (4.1.2) in one pass too."""
    config = server_config(pki, groups=("secp256r1",), alpn_protocols=("http/1.1",))
    extensions = [(0x3000 + i, b"") for i in range(BLOCK // 4 - 40)]
    first = wire(supported_groups=[0x1D, 0x17], other_extensions=extensions)
    assert len(first) > 60_000

    def both_hellos() -> float:
        server = ServerConnection(config)
        start = time.perf_counter()
        server.receive_data(first)
        answer = server.data_to_send()
        spent = time.perf_counter() - start
        assert answer[11:43] == HELLO_RETRY_REQUEST_RANDOM
        second = wire(supported_groups=[0x1D, 0x17], other_extensions=extensions,
                      cookie=codec.parse_server_hello(answer[9:]).cookie,
                      key_share=[(0x17, KeyShare("secp256r1").public)])
        start = time.perf_counter()
        server.receive_data(second)
        answer = server.data_to_send()
        spent += time.perf_counter() - start
        assert answer[5] == 2 and answer[11:43] != HELLO_RETRY_REQUEST_RANDOM
        return spent

    ratio = least_ratio(both_hellos, normal)
    assert ratio < 2 * BOUND, "%.0f normal hellos" % ratio
