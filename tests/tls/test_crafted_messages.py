"""The server's messages, built to be expensive, cost the client work linear in their size.

A CertificateRequest with thousands of signature algorithms or extensions, a Certificate with
a hundred decoy intermediates: each is measured at full size and at a quarter of it, in the same
run. Linear work grows about four times; work quadratic in the number of values grows about
sixteen times, so the bound sits between the two.
"""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.tls import codec
from engine.tls.states import ClientState
from tests._support.pairs import client_in_state
from tests._support.timing import least_ratio

GROWTH = 8  # cost(4 n) / cost(n): about 4 when linear, about 16 when quadratic


def take_time(pki, message: bytes, state) -> float:
    """The time a client in WAIT_CERT_CR takes to read ``message`` (the client made untimed)."""
    client, sealer = client_in_state(pki, ClientState.WAIT_CERT_CR)
    records = sealer.seal(message, content_type=22)
    start = time.perf_counter()
    client.receive_data(records)
    spent = time.perf_counter() - start
    assert client._state is state
    return spent


def growth(pki, full: bytes, quarter: bytes, state) -> float:
    """The least, over interleaved rounds, of the time for ``full`` over that for ``quarter``."""
    return least_ratio(lambda: take_time(pki, full, state),
                       lambda: take_time(pki, quarter, state), baseline_repeats=2)


def certificate_request(count: int, kind: str) -> bytes:
    if kind == "signature algorithms":
        return codec.build_certificate_request(codec.CertificateRequest(
            b"", list(range(0x2000, 0x2000 + count)) + [0x0403]))
    return codec.build_certificate_request(codec.CertificateRequest(
        b"", [0x0403], other_extensions=[(0x3000 + i, b"") for i in range(count)]))


@pytest.mark.parametrize("kind,count", [("signature algorithms", 30000), ("extensions", 16000)])
def test_a_crafted_certificate_request_costs_what_its_size_costs(pki, kind, count):
    full = certificate_request(count, kind)
    assert len(full) > 60_000
    ratio = growth(pki, full, certificate_request(count // 4, kind), ClientState.WAIT_CERT)
    assert ratio < GROWTH, "%s: x%.1f for 4 times the values" % (kind, ratio)


@pytest.fixture(scope="module")
def decoys(pki):
    """Intermediates named like the server's issuer, with other keys: path-building bait."""
    name = pki.issuer.certificate.subject.rfc4514_string().split("=", 1)[1]
    return [pki.root.create_intermediate(name, key_type="p256").certificate
            for _ in range(120)]


def certificate(pki, decoys) -> bytes:
    server = pki.servers["p256"]
    chain = [server.certificate, *decoys, *server.chain]
    return codec.build_certificate(codec.Certificate(
        b"", [(c.public_bytes(Encoding.DER), b"") for c in chain]))


def test_a_certificate_with_many_decoy_intermediates_costs_what_its_size_costs(pki, decoys):
    full = certificate(pki, decoys)
    assert len(full) > 45_000
    ratio = growth(pki, full, certificate(pki, decoys[:len(decoys) // 4]), ClientState.WAIT_CV)
    assert ratio < GROWTH, "x%.1f for 4 times the certificates" % ratio
