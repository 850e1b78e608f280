"""Checks of each message in the encrypted flights, played by a rogue peer (RFC 8446 4.3, 4.4)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine import errors
from engine.tls import codec
from engine.tls.states import ClientState, ServerState
from tests._support.pairs import client_in_state, server_in_state


def rogue(pki, state, *messages):
    client, sealer = client_in_state(pki, state)
    return client, sealer.seal(b"".join(messages), content_type=22)


@pytest.mark.parametrize("extensions,error", [
    ([(0xFE0D, b"")], errors.UnsupportedExtensionError),  # never offered
    ([(51, b"\x00\x1d\x00\x01\x00")], errors.IllegalParameterError),  # key_share
    ([(43, b"\x03\x04")], errors.IllegalParameterError),  # supported_versions
])
def test_encrypted_extensions_with_an_extension_out_of_place(pki, extensions, error):
    message = codec.build_encrypted_extensions(codec.EncryptedExtensions(other_extensions=extensions))
    client, wire = rogue(pki, ClientState.WAIT_EE, message)
    with pytest.raises(error):
        client.receive_data(wire)
    assert client.data_to_send()


def test_alpn_that_was_not_offered(pki):
    message = codec.build_encrypted_extensions(codec.EncryptedExtensions(alpn_protocol=b"h2"))
    client, wire = rogue(pki, ClientState.WAIT_EE, message)
    with pytest.raises(errors.UnsupportedExtensionError):
        client.receive_data(wire)


def test_certificate_request_without_signature_algorithms(pki):
    request = codec.build_certificate_request(codec.CertificateRequest(b""))
    client, wire = rogue(pki, ClientState.WAIT_CERT_CR, request)
    with pytest.raises(errors.MissingExtensionError):
        client.receive_data(wire)


def test_empty_server_certificate_is_decode_error(pki):
    client, wire = rogue(pki, ClientState.WAIT_CERT, codec.build_certificate(codec.Certificate()))
    with pytest.raises(errors.DecodeError):
        client.receive_data(wire)


def test_certificate_entry_extensions_that_were_not_asked_for(pki):
    der = pki.servers["p256"].certificate.public_bytes(Encoding.DER)
    message = codec.build_certificate(codec.Certificate(b"", [(der, b"\x00\x05\x00\x00")]))
    client, wire = rogue(pki, ClientState.WAIT_CERT, message)
    with pytest.raises(errors.UnsupportedExtensionError):
        client.receive_data(wire)


def test_garbage_certificate_is_bad_certificate(pki):
    message = codec.build_certificate(codec.Certificate(b"", [(b"\x30\x03\x02\x01\x00", b"")]))
    client, wire = rogue(pki, ClientState.WAIT_CERT, message)
    with pytest.raises(errors.BadCertificateError) as info:
        client.receive_data(wire)
    assert info.value.reason == "malformed"


@pytest.mark.parametrize("algorithm,error", [
    (0x0401, errors.IllegalParameterError),  # rsa_pkcs1_sha256: not offered for CertificateVerify
    (0x0804, errors.IllegalParameterError),  # offered, but does not fit an ECDSA key
    (0x0403, errors.DecryptError),  # the right scheme, a wrong signature
])
def test_bad_server_certificate_verify(pki, algorithm, error):
    verify = codec.build_certificate_verify(codec.CertificateVerify(algorithm, b"\x30\x00"))
    client, wire = rogue(pki, ClientState.WAIT_CV, verify)
    with pytest.raises(error):
        client.receive_data(wire)


# --- the server reading the client's flight ----------------------------------------------


def test_client_certificate_with_a_request_context_we_did_not_send(pki):
    server, sealer = server_in_state(pki, ServerState.WAIT_CERT)
    message = codec.build_certificate(codec.Certificate(b"ctx", []))
    with pytest.raises(errors.IllegalParameterError):
        server.receive_data(sealer.seal(message, content_type=22))


def test_bad_client_certificate_verify(pki):
    server, sealer = server_in_state(pki, ServerState.WAIT_CV)
    verify = codec.build_certificate_verify(codec.CertificateVerify(0x0403, b"\x30\x06\x02\x01\x01\x02\x01\x01"))
    with pytest.raises(errors.DecryptError):
        server.receive_data(sealer.seal(verify, content_type=22))
    assert server.data_to_send()


def test_bad_client_finished(pki):
    server, sealer = server_in_state(pki, ServerState.WAIT_FINISHED)
    finished = codec.build_finished(codec.Finished(bytes(server.suite.hash_len)))
    with pytest.raises(errors.DecryptError):
        server.receive_data(sealer.seal(finished, content_type=22))
    assert server.data_to_send()
