"""Differential fuzzing: both backends give the same reason and depth on randomly mutated
chains (bounded: a fixed number of examples, no deadline). The mutations are those on which
the backends once disagreed, mixed with ordinary faults: one subject and key presented many
times, an iPAddress subjectAltName holding a network, an empty subject with a non-critical
subjectAltName, an unreadable extra certificate off the path, wildcards on single-label
names, and expiry, a wrong name, a dropped or repeated intermediate, reordering."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.verify import verify_chains
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.verify_factory import DAY, NOW, make_intermediate, make_root, new_key

pytestmark = pytest.mark.skipif(len(VERIFY_BACKENDS) < 2,
                                reason="the native extension with its verifier is not built")


@pytest.fixture(scope="module")
def hierarchy():
    root = make_root("Differential Root")
    key = new_key()
    inter = make_intermediate("Differential Issuing", root, key=key)
    twins = [make_intermediate("Differential Issuing", root, key=key) for _ in range(10)]
    return root, inter, twins


def _leaf(inter, *, subject_empty, san, san_critical, expired):
    key = new_key()
    subject = x509.Name([]) if subject_empty else x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "leaf")])
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(inter.certificate.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 30 * DAY)
        .not_valid_after(NOW - DAY if expired else NOW + 30 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            inter.key.public_key()), False)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), san_critical)
    return builder.sign(inter.key, hashes.SHA256()).public_bytes(Encoding.DER)


_NAMES = {
    "dns": x509.DNSName("host.example.com"),
    "wildcard": x509.DNSName("*.example.com"),
    "single-label-wildcard": x509.DNSName("*.example"),
    "ip": x509.IPAddress(ipaddress.ip_address("10.1.2.3")),
    "ip-network": x509.IPAddress(ipaddress.ip_network("10.0.0.0/8")),
}
_ASKED = (None, "host.example.com", "www.example.com", "a.example", "example", "10.1.2.3",
          "other.example.org")


@st.composite
def mutated(draw, hierarchy):
    root, inter, twins = hierarchy
    san = [_NAMES[k] for k in draw(st.lists(st.sampled_from(sorted(_NAMES)), max_size=3,
                                            unique=True))]
    leaf = _leaf(inter, subject_empty=draw(st.booleans()), san=san,
                 san_critical=draw(st.booleans()), expired=draw(st.integers(0, 5)) == 0)
    middle = [inter.certificate.public_bytes(Encoding.DER)]
    repeats = draw(st.sampled_from([0, 0, 1, 8, 9, 10]))
    middle += [t.certificate.public_bytes(Encoding.DER) for t in twins[:repeats]]
    if draw(st.integers(0, 4)) == 0:
        middle.append(b"\x30\x03\x02\x01\x01")  # an unreadable extra certificate
    if draw(st.integers(0, 5)) == 0:
        middle = []  # no intermediate
    middle = draw(st.permutations(middle))
    return [leaf, *middle], draw(st.sampled_from(_ASKED)), draw(st.sampled_from(
        ["server", "server", "client"])), root


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(data=st.data())
def test_both_backends_agree_on_mutated_chains(hierarchy, data):
    chain, name, purpose, root = data.draw(mutated(hierarchy))
    verdicts = {backend: verify_chains([chain], [root.certificate], names=[name], at=NOW,
                                       purpose=purpose, backend=backend)[0]
                for backend in ("native", "python")}
    native, python = verdicts["native"], verdicts["python"]
    assert (native.reason, native.depth) == (python.reason, python.depth), (
        native.detail, python.detail)
