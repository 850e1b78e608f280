"""The key schedule against RFC 8448 sections 3 (Simple 1-RTT) and 4 (Resumed 0-RTT), and
the native and Python kernels against each other."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import given, settings
from hypothesis import strategies as st
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from tests.tls import tls_rfc8448 as V
from engine._backend import key_schedule_kernels
from engine.tls import key_schedule as ks
from engine.tls.constants import SUITE_BY_NAME
from engine.tls.key_schedule import KeySchedule

SUITE = SUITE_BY_NAME["TLS_AES_128_GCM_SHA256"]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def _native_built() -> bool:
    try:
        from engine._backend import native

        return hasattr(native()[1], "engine_ks_handshake")
    except Exception:
        return False


@pytest.fixture(params=["python", "native"])
def backend(request):
    """Each kernel backend in turn; native is skipped, saying why, when it is not built."""
    if request.param == "native" and not _native_built():
        pytest.skip("the native extension is not built (python setup.py build_ext --inplace)")
    return request.param


@pytest.fixture
def schedule(backend) -> KeySchedule:
    """The key schedule after ClientHello and ServerHello of RFC 8448 section 3."""
    schedule = KeySchedule(SUITE, backend)
    schedule.update(h(V.CLIENT_HELLO))
    schedule.update(h(V.SERVER_HELLO))
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


def test_handshake_secret_and_its_derived_secret():
    secret = ks.hkdf_extract("sha256", h(V.DERIVED_EARLY), h(V.SHARED_SECRET))
    assert secret.hex() == V.HANDSHAKE_SECRET
    empty = ks.hashlib.sha256().digest()
    assert ks.derive_secret("sha256", secret, b"derived", empty).hex() == V.DERIVED_HANDSHAKE


def test_handshake_stage_secrets_keys_and_master_secret(schedule):
    stage = schedule.handshake_traffic(h(V.SHARED_SECRET))
    assert stage.client == (h(V.CLIENT_HS_TRAFFIC), h(V.CLIENT_HS_KEY), h(V.CLIENT_HS_IV))
    assert stage.server == (h(V.SERVER_HS_TRAFFIC), h(V.SERVER_HS_KEY), h(V.SERVER_HS_IV))
    assert stage.secret.hex() == schedule.master_secret.hex() == V.MASTER_SECRET


def test_handshake_traffic_keys():
    assert ks.traffic_key(SUITE, h(V.SERVER_HS_TRAFFIC)) == (h(V.SERVER_HS_KEY), h(V.SERVER_HS_IV))
    assert ks.traffic_key(SUITE, h(V.CLIENT_HS_TRAFFIC)) == (h(V.CLIENT_HS_KEY), h(V.CLIENT_HS_IV))


def test_server_finished(schedule):
    schedule.handshake_traffic(h(V.SHARED_SECRET))
    for message in (V.ENCRYPTED_EXTENSIONS, V.CERTIFICATE, V.CERTIFICATE_VERIFY):
        schedule.update(h(message))
    assert ks.finished_key(SUITE, h(V.SERVER_HS_TRAFFIC)).hex() == V.SERVER_FINISHED_KEY
    verify_data = schedule.finished(h(V.SERVER_HS_TRAFFIC))
    assert verify_data.hex() == V.SERVER_VERIFY_DATA
    assert V.SERVER_FINISHED.endswith(verify_data.hex())


def test_application_stage_secrets_keys_and_client_finished(schedule):
    schedule.handshake_traffic(h(V.SHARED_SECRET))
    for message in (V.ENCRYPTED_EXTENSIONS, V.CERTIFICATE, V.CERTIFICATE_VERIFY, V.SERVER_FINISHED):
        schedule.update(h(message))
    stage = schedule.application_traffic()
    assert stage.client == (h(V.CLIENT_AP_TRAFFIC), h(V.CLIENT_AP_KEY), h(V.CLIENT_AP_IV))
    assert stage.server == (h(V.SERVER_AP_TRAFFIC), h(V.SERVER_AP_KEY), h(V.SERVER_AP_IV))
    assert stage.secret.hex() == schedule.exporter_secret.hex() == V.EXPORTER_MASTER
    assert schedule.finished(h(V.CLIENT_HS_TRAFFIC)).hex() == V.CLIENT_VERIFY_DATA
    schedule.update(h(V.CLIENT_FINISHED))
    assert schedule.resumption_master_secret().hex() == V.RESUMPTION_MASTER


def test_a_traffic_secret_gives_its_keys_and_the_next_secret(backend):
    key, iv, following = key_schedule_kernels(backend).traffic(SUITE, h(V.SERVER_AP_TRAFFIC))
    assert (key, iv) == (h(V.SERVER_AP_KEY), h(V.SERVER_AP_IV))
    assert following == ks.next_traffic_secret(SUITE, h(V.SERVER_AP_TRAFFIC))


@pytest.mark.skipif(not _native_built(), reason="the native extension is not built")
@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(SUITE_BY_NAME)), data=st.data())
def test_native_and_python_kernels_agree(name, data):
    suite = SUITE_BY_NAME[name]
    n = suite.hash_len
    secret = data.draw(st.binary(min_size=n, max_size=n))
    shared = data.draw(st.binary(min_size=1, max_size=1200))
    digest = data.draw(st.binary(min_size=n, max_size=n))
    native, python = key_schedule_kernels("native"), key_schedule_kernels("python")
    assert native.handshake(suite, None, shared, digest) == \
        python.handshake(suite, None, shared, digest)
    assert native.handshake(suite, secret, shared, digest) == \
        python.handshake(suite, secret, shared, digest)
    assert native.application(suite, secret, digest) == python.application(suite, secret, digest)
    assert native.traffic(suite, secret) == python.traffic(suite, secret)
    assert native.finished(suite, secret, digest) == python.finished(suite, secret, digest)
    psk = data.draw(st.binary(min_size=n, max_size=n))
    external = data.draw(st.booleans())
    for hello_hash in (None, digest):
        assert native.early(suite, psk, external, hello_hash) == \
            python.early(suite, psk, external, hello_hash)
    label = data.draw(st.binary(min_size=0, max_size=40))
    context = data.draw(st.binary(min_size=0, max_size=255))
    length = data.draw(st.integers(min_value=1, max_value=3 * n))
    assert native.expand_label(suite, secret, label, context, length) == \
        python.expand_label(suite, secret, label, context, length)


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


# --- RFC 8448 section 4: a resumed handshake with 0-RTT data -----------------------------------


@pytest.fixture
def resumed(backend) -> KeySchedule:
    """The key schedule of RFC 8448 section 4 after its ClientHello, from the ticket's PSK."""
    schedule = KeySchedule(SUITE, backend)
    schedule.update(h(V.R_CLIENT_HELLO_PREFIX) + h(V.R_BINDERS))
    return schedule


def test_resumption_master_secret_gives_the_ticket_psk(backend):
    schedule = KeySchedule(SUITE, backend)
    assert schedule.ticket_psk(h(V.RESUMPTION_MASTER), b"\x00\x00").hex() == V.TICKET_PSK


def test_early_stage_from_the_psk(backend):
    stage = key_schedule_kernels(backend).early(SUITE, h(V.TICKET_PSK), False, None)
    assert stage.secret.hex() == V.R_EARLY_SECRET
    assert stage.binder_key.hex() == V.R_BINDER_KEY
    assert stage.client_early_traffic is None and stage.early_exporter is None
    assert ks.finished_key(SUITE, stage.binder_key).hex() == V.R_BINDER_FINISHED_KEY


def test_the_binder_covers_the_client_hello_up_to_the_binders(backend):
    prefix = h(V.R_CLIENT_HELLO_PREFIX)
    assert ks.hashlib.sha256(prefix).hexdigest() == V.R_TRUNCATED_HELLO_HASH
    schedule = KeySchedule(SUITE, backend)
    stage = schedule.early(h(V.TICKET_PSK))
    binder = schedule.binder(stage.binder_key, schedule.transcript_hash_with(prefix))
    assert binder.hex() == V.R_BINDER
    assert V.R_BINDERS == "0021" + "20" + V.R_BINDER


def test_client_early_traffic_secret_keys_and_early_exporter(backend, resumed):
    assert resumed.transcript_hash().hex() == V.R_CLIENT_HELLO_HASH
    stage = resumed.early(h(V.TICKET_PSK), resumed.transcript_hash())
    assert stage.client_early_traffic.hex() == V.R_CLIENT_EARLY_TRAFFIC
    assert stage.early_exporter.hex() == V.R_EARLY_EXPORTER
    key, iv, _ = resumed.traffic(stage.client_early_traffic)
    assert (key.hex(), iv.hex()) == (V.R_EARLY_KEY, V.R_EARLY_IV)


def test_resumed_handshake_secret_comes_from_the_early_secret():
    empty = ks.hashlib.sha256().digest()
    derived = ks.derive_secret("sha256", h(V.R_EARLY_SECRET), b"derived", empty)
    assert derived.hex() == V.R_DERIVED_EARLY
    assert ks.hkdf_extract("sha256", derived, h(V.R_SHARED_SECRET)).hex() == V.R_HANDSHAKE_SECRET


def test_resumed_x25519_shared_secret():
    client = x25519.X25519PrivateKey.from_private_bytes(h(V.R_CLIENT_PRIVATE))
    server = x25519.X25519PrivateKey.from_private_bytes(h(V.R_SERVER_PRIVATE))
    assert client.public_key().public_bytes_raw().hex() == V.R_CLIENT_PUBLIC
    assert server.public_key().public_bytes_raw().hex() == V.R_SERVER_PUBLIC
    assert client.exchange(server.public_key()).hex() == V.R_SHARED_SECRET


def test_resumed_handshake_and_application_stages(resumed):
    resumed.early(h(V.TICKET_PSK))
    resumed.update(h(V.R_SERVER_HELLO))
    stage = resumed.handshake_traffic(h(V.R_SHARED_SECRET))
    assert stage.client == (h(V.R_CLIENT_HS_TRAFFIC), h(V.R_CLIENT_HS_KEY), h(V.R_CLIENT_HS_IV))
    assert stage.server == (h(V.R_SERVER_HS_TRAFFIC), h(V.R_SERVER_HS_KEY), h(V.R_SERVER_HS_IV))
    assert stage.secret.hex() == V.R_MASTER_SECRET
    resumed.update(h(V.R_ENCRYPTED_EXTENSIONS))
    assert resumed.finished(stage.server.secret).hex() == V.R_SERVER_VERIFY_DATA
    resumed.update(h(V.R_SERVER_FINISHED))
    application = resumed.application_traffic()
    assert application.client == (h(V.R_CLIENT_AP_TRAFFIC), h(V.R_CLIENT_AP_KEY),
                                  h(V.R_CLIENT_AP_IV))
    assert application.server == (h(V.R_SERVER_AP_TRAFFIC), h(V.R_SERVER_AP_KEY),
                                  h(V.R_SERVER_AP_IV))
    assert application.secret.hex() == V.R_EXPORTER_MASTER
    resumed.update(h(V.R_END_OF_EARLY_DATA))  # the client's Finished covers EndOfEarlyData
    assert resumed.finished(stage.client.secret).hex() == V.R_CLIENT_VERIFY_DATA
    resumed.update(h(V.R_CLIENT_FINISHED))
    assert resumed.resumption_master_secret().hex() == V.R_RESUMPTION_MASTER


def test_a_psk_handshake_without_dhe_uses_zeros_for_the_shared_secret(backend):
    with_zeros, without = KeySchedule(SUITE, backend), KeySchedule(SUITE, backend)
    for schedule in (with_zeros, without):
        schedule.early(h(V.TICKET_PSK))
        schedule.update(h(V.R_SERVER_HELLO))
    assert with_zeros.handshake_traffic(bytes(32)) == without.handshake_traffic(None)
