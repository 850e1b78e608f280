"""The PKI loaders given the wrong kind of thing: a typed error of their own, never a TypeError
from deep inside."""

from __future__ import annotations

import pytest

from engine.errors import CRLError, KeyStoreError, TrustStoreError
from engine.pki import KeyStore, RevocationList, TrustStore


@pytest.mark.parametrize("source", [None, 5, 1.5, object()])
def test_trust_store_from_pem_of_a_non_source_is_a_trust_store_error(source):
    with pytest.raises(TrustStoreError, match="bytes, a str or a path"):
        TrustStore.from_pem(source)


@pytest.mark.parametrize("certificates", [None, b"-----BEGIN CERTIFICATE-----", 5])
def test_a_trust_store_of_a_non_iterable_or_of_data_is_a_trust_store_error(certificates):
    with pytest.raises(TrustStoreError, match="takes certificates or"):
        TrustStore(certificates)


def test_a_trust_store_of_junk_items_is_a_trust_store_error():
    with pytest.raises(TrustStoreError):
        TrustStore([b"junk"])


def test_a_trust_store_directory_with_one_bad_file_names_it(tmp_path, small_pki):
    from cryptography.hazmat.primitives.serialization import Encoding

    (tmp_path / "root.pem").write_bytes(small_pki.root.certificate.public_bytes(Encoding.PEM))
    (tmp_path / "broken.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nzz\n-----END CERTIFICATE-----\n")
    with pytest.raises(TrustStoreError, match="broken.pem"):
        TrustStore.from_directory(tmp_path)


@pytest.mark.parametrize("path", ["missing", "."])
def test_paths_that_are_not_files(tmp_path, path):
    target = tmp_path / path
    with pytest.raises(TrustStoreError, match="cannot read"):
        TrustStore.from_pem(target)
    with pytest.raises(KeyStoreError, match="cannot read"):
        KeyStore.load(target, b"password")
    with pytest.raises(CRLError, match="cannot read"):
        RevocationList.load(target)


@pytest.mark.parametrize("password", [None, 5, ["pw"]])
def test_a_keystore_password_of_the_wrong_type_is_a_keystore_error(small_pki, tmp_path, password):
    keystore = small_pki.server.keystore()
    with pytest.raises(KeyStoreError, match="password must be bytes or str"):
        keystore.save(tmp_path / "k.p12", password)
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file
