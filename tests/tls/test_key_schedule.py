"""The key schedule against RFC 8448 section 3 (Simple 1-RTT Handshake)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

import tls_rfc8448 as V
from engine.tls import key_schedule as ks
from engine.tls.constants import SUITE_BY_NAME
from engine.tls.key_schedule import KeySchedule

SUITE = SUITE_BY_NAME["TLS_AES_128_GCM_SHA256"]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.fixture
def schedule() -> KeySchedule:
    """The key schedule after ClientHello and ServerHello of RFC 8448 section 3."""
    schedule = KeySchedule(SUITE)
    schedule.update(h(V.CLIENT_HELLO))
    schedule.update(h(V.SERVER_HELLO))
    schedule.set_shared_secret(h(V.SHARED_SECRET))
    return schedule


def test_x25519_shared_secret_matches_rfc8448():
    client = x25519.X25519PrivateKey.from_private_bytes(h(V.CLIENT_PRIVATE))
    server = x25519.X25519PrivateKey.from_private_bytes(h(V.SERVER_PRIVATE))
    assert client.public_key().public_bytes_raw() == h(V.CLIENT_PUBLIC)
    assert server.public_key().public_bytes_raw() == h(V.SERVER_PUBLIC)
    assert client.exchange(server.public_key()).hex() == V.SHARED_SECRET


def test_early_secret_and_derived_secret():
    schedule = KeySchedule(SUITE)
    assert schedule.early_secret.hex() == V.EARLY_SECRET
    empty = ks.hashlib.sha256().digest()
    assert ks.derive_secret("sha256", h(V.EARLY_SECRET), b"derived", empty).hex() == V.DERIVED_EARLY


def test_handshake_and_master_secrets(schedule):
    assert schedule.handshake_secret.hex() == V.HANDSHAKE_SECRET
    empty = ks.hashlib.sha256().digest()
    derived = ks.derive_secret("sha256", schedule.handshake_secret, b"derived", empty)
    assert derived.hex() == V.DERIVED_HANDSHAKE
    assert schedule.master_secret.hex() == V.MASTER_SECRET


def test_handshake_traffic_secrets(schedule):
    client_hs, server_hs = schedule.handshake_traffic()
    assert client_hs.hex() == V.CLIENT_HS_TRAFFIC
    assert server_hs.hex() == V.SERVER_HS_TRAFFIC


def test_handshake_traffic_keys():
    assert ks.traffic_key(SUITE, h(V.SERVER_HS_TRAFFIC)) == (h(V.SERVER_HS_KEY), h(V.SERVER_HS_IV))
    assert ks.traffic_key(SUITE, h(V.CLIENT_HS_TRAFFIC)) == (h(V.CLIENT_HS_KEY), h(V.CLIENT_HS_IV))


def test_server_finished(schedule):
    for message in (V.ENCRYPTED_EXTENSIONS, V.CERTIFICATE, V.CERTIFICATE_VERIFY):
        schedule.update(h(message))
    assert ks.finished_key(SUITE, h(V.SERVER_HS_TRAFFIC)).hex() == V.SERVER_FINISHED_KEY
    verify_data = schedule.finished(h(V.SERVER_HS_TRAFFIC))
    assert verify_data.hex() == V.SERVER_VERIFY_DATA
    assert V.SERVER_FINISHED.endswith(verify_data.hex())


def test_application_secrets_keys_and_client_finished(schedule):
    for message in (V.ENCRYPTED_EXTENSIONS, V.CERTIFICATE, V.CERTIFICATE_VERIFY, V.SERVER_FINISHED):
        schedule.update(h(message))
    client_ap, server_ap = schedule.application_traffic()
    assert client_ap.hex() == V.CLIENT_AP_TRAFFIC
    assert server_ap.hex() == V.SERVER_AP_TRAFFIC
    assert schedule.exporter_master_secret().hex() == V.EXPORTER_MASTER
    assert ks.traffic_key(SUITE, server_ap) == (h(V.SERVER_AP_KEY), h(V.SERVER_AP_IV))
    assert ks.traffic_key(SUITE, client_ap) == (h(V.CLIENT_AP_KEY), h(V.CLIENT_AP_IV))
    assert schedule.finished(h(V.CLIENT_HS_TRAFFIC)).hex() == V.CLIENT_VERIFY_DATA
    schedule.update(h(V.CLIENT_FINISHED))
    assert schedule.resumption_master_secret().hex() == V.RESUMPTION_MASTER


@pytest.mark.parametrize("name", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"])
def test_expand_label_agrees_with_cryptography_hkdf(name):
    suite = SUITE_BY_NAME[name]
    algorithm = hashes.SHA256() if suite.hash_len == 32 else hashes.SHA384()
    secret = bytes(range(suite.hash_len))
    label = ks.hkdf_label(b"traffic upd", b"", suite.hash_len)
    expected = HKDFExpand(algorithm, suite.hash_len, label).derive(secret)
    assert ks.next_traffic_secret(suite, secret) == expected
    long_label = ks.hkdf_label(b"key", b"ctx", 100)
    assert ks.hkdf_expand_label(suite.hash_name, secret, b"key", b"ctx", 100) == HKDFExpand(
        algorithm, 100, long_label
    ).derive(secret)


def test_hkdf_label_layout():
    # uint16 length, opaque label<7..255> ("tls13 " + label), opaque context<0..255>
    assert ks.hkdf_label(b"key", b"", 16) == bytes.fromhex("0010") + b"\x09tls13 key" + b"\x00"


def test_hello_retry_request_replaces_client_hello_with_message_hash():
    schedule = KeySchedule(SUITE)
    schedule.replace_client_hello(h(V.CLIENT_HELLO))
    digest = ks.hashlib.sha256(h(V.CLIENT_HELLO)).digest()
    expected = ks.hashlib.sha256(b"\xfe\x00\x00\x20" + digest).digest()
    assert schedule.transcript_hash() == expected
