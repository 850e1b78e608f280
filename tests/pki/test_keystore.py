"""KeyStore: PKCS#12 round trips and the three ways a file fails to open."""

from __future__ import annotations

import pytest

from engine.errors import KeyStoreError
from engine.pki import KEY_TYPES, KeyStore

ROUNDS = 1000  # keeps the tests fast; the default is far higher


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_round_trip_keeps_key_certificate_and_chain(intermediate, key_type):
    leaf = intermediate.issue_server(["ks.test"], key_type=key_type)
    data = leaf.keystore().to_bytes(b"secret", kdf_rounds=ROUNDS)
    loaded = KeyStore.from_bytes(data, "secret")
    assert loaded.certificate == leaf.certificate
    assert loaded.chain == [intermediate.certificate]
    assert loaded.key_type == key_type


def test_save_and_load_file_is_private_to_owner(tmp_path, intermediate):
    path = tmp_path / "server.p12"
    intermediate.issue_client("carol").keystore().save(path, b"pw", kdf_rounds=ROUNDS)
    assert path.stat().st_mode & 0o777 == 0o600
    assert KeyStore.load(path, b"pw").certificate.subject.rfc4514_string() == "CN=carol"


def test_key_not_matching_certificate_is_refused(root):
    a, b = root.issue_client("a"), root.issue_client("b")
    with pytest.raises(KeyStoreError, match="does not match"):
        KeyStore(a.private_key, b.certificate)


@pytest.fixture(scope="module")
def p12(root):
    return root.issue_client("dave").keystore().to_bytes(b"right", kdf_rounds=ROUNDS)


def test_wrong_password_says_wrong_password(p12):
    with pytest.raises(KeyStoreError, match="wrong password") as info:
        KeyStore.from_bytes(p12, b"wrong")
    assert "right" not in str(info.value)


def test_truncated_file_says_truncated(p12):
    with pytest.raises(KeyStoreError, match="truncated"):
        KeyStore.from_bytes(p12[: len(p12) // 2], b"right")


def test_empty_file_says_truncated(tmp_path):
    (tmp_path / "empty.p12").write_bytes(b"")
    with pytest.raises(KeyStoreError, match="truncated"):
        KeyStore.load(tmp_path / "empty.p12", b"right")


def test_garbage_says_corrupt(p12):
    with pytest.raises(KeyStoreError, match="corrupt"):
        KeyStore.from_bytes(b"\x00" * len(p12), b"right")


def test_damaged_structure_says_corrupt(p12):
    damaged = bytearray(p12)
    damaged[4] ^= 0xFF  # the tag of the version INTEGER
    with pytest.raises(KeyStoreError, match="corrupt"):
        KeyStore.from_bytes(bytes(damaged), b"right")


def test_empty_password_is_refused_for_writing(root):
    with pytest.raises(KeyStoreError, match="empty"):
        root.issue_client("e").keystore().to_bytes(b"")


def indefinite_length(p12: bytes) -> bytes:
    """The same PFX with its outer SEQUENCE in BER's indefinite-length form."""
    from engine.pki._der import _element

    _, start, end, _ = _element(p12, 0, len(p12))
    return b"\x30\x80" + p12[start:end] + b"\x00\x00"


def test_ber_indefinite_length_files_load_and_a_wrong_password_says_so(p12):
    ber = indefinite_length(p12)
    assert KeyStore.from_bytes(ber, b"right").certificate.subject.rfc4514_string() == "CN=dave"
    with pytest.raises(KeyStoreError, match="wrong password"):
        KeyStore.from_bytes(ber, b"wrong")
    with pytest.raises(KeyStoreError, match="truncated"):
        KeyStore.from_bytes(ber[:-1], b"right")
