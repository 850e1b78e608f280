"""TrustStore: trust anchors from objects, PEM bundles and directories."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from engine.errors import TrustStoreError
from engine.pki import TrustStore


def pem(cert):
    return cert.public_bytes(Encoding.PEM)


def test_store_holds_the_certificates_given(root, intermediate):
    store = TrustStore([root.certificate, intermediate.certificate])
    assert len(store) == 2
    assert root.certificate in store and intermediate.certificate in store
    assert list(store) == [root.certificate, intermediate.certificate]


def test_adding_a_leaf_is_refused_naming_its_subject(root):
    leaf = root.issue_server(["leaf.test"])
    with pytest.raises(TrustStoreError, match="CN=leaf.test"):
        TrustStore([leaf.certificate])


def test_adding_the_same_certificate_twice_keeps_one(root):
    store = TrustStore([root.certificate, root.certificate])
    assert len(store) == 1


def test_lookup_by_subject_and_by_key_identifier(root, intermediate):
    store = TrustStore([root.certificate, intermediate.certificate])
    assert store.find_by_subject(root.certificate.subject) == [root.certificate]
    ski = root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert store.find_by_key_id(ski.digest) == root.certificate
    assert store.find_by_key_id(b"\x00" * 20) is None
    assert store.find_by_subject(x509.Name([])) == []


def test_from_pem_bytes_and_path_and_back(tmp_path, root, intermediate):
    bundle = pem(root.certificate) + pem(intermediate.certificate)
    assert TrustStore.from_pem(bundle).to_pem() == bundle
    path = tmp_path / "bundle.pem"
    path.write_bytes(bundle)
    assert len(TrustStore.from_pem(path)) == 2
    assert len(TrustStore.from_pem(str(path))) == 2


def test_from_pem_rejects_data_without_certificates(tmp_path):
    with pytest.raises(TrustStoreError):
        TrustStore.from_pem(b"not a bundle")
    with pytest.raises(TrustStoreError, match="cannot read"):
        TrustStore.from_pem(tmp_path / "missing.pem")


def test_from_directory_reads_pem_crt_and_der_cer_files(tmp_path, root, intermediate):
    other = root.create_intermediate("Other CA")
    (tmp_path / "a.pem").write_bytes(pem(root.certificate))
    (tmp_path / "b.crt").write_bytes(pem(intermediate.certificate))
    (tmp_path / "c.cer").write_bytes(other.certificate.public_bytes(Encoding.DER))
    (tmp_path / "notes.txt").write_text("ignored")
    store = TrustStore.from_directory(tmp_path)
    assert len(store) == 3 and other.certificate in store


def test_from_directory_refuses_a_leaf_and_names_the_file(tmp_path, root):
    (tmp_path / "leaf.pem").write_bytes(pem(root.issue_client("mallory").certificate))
    with pytest.raises(TrustStoreError, match="leaf.pem.*CN=mallory"):
        TrustStore.from_directory(tmp_path)
