"""Handshake messages of TLS 1.3: one parse and one build function each (RFC 8446 section 4).

``build_*`` returns the whole handshake message (type, 24-bit length, body), ready for the
transcript and the record layer. ``parse_*`` takes the body only (what follows the 4-byte
header) and returns a dataclass; malformed bodies raise :class:`~engine.errors.DecodeError`,
values out of range :class:`~engine.errors.IllegalParameterError`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from ..errors import DecodeError, IllegalParameterError
from . import extensions as ext
from .constants import HELLO_RETRY_REQUEST_RANDOM, LEGACY_VERSION
from .constants import ExtensionType as ET
from .constants import HandshakeType as HT
from .wire import Reader, opaque8, opaque16, opaque24, u16, uint16_list


def handshake(msg_type: int, body: bytes) -> bytes:
    """Frame a handshake message: ``msg_type || uint24 length || body`` (section 4)."""
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


@dataclasses.dataclass
class ClientHello:
    """ClientHello (section 4.1.2) with its known extensions decoded."""

    random: bytes
    legacy_session_id: bytes = b""
    cipher_suites: list = dataclasses.field(default_factory=list)
    legacy_compression_methods: bytes = b"\x00"
    server_name: str | None = None
    supported_versions: list | None = None
    supported_groups: list | None = None
    signature_algorithms: list | None = None
    signature_algorithms_cert: list | None = None
    key_share: list | None = None  # [(group, key_exchange)]
    alpn_protocols: list | None = None
    cookie: bytes | None = None
    psk_key_exchange_modes: bytes | None = None
    early_data: bool = False  # the early_data indication (section 4.2.10)
    pre_shared_key: ext.OfferedPsks | None = None  # always the last extension (4.2.11)
    other_extensions: list = dataclasses.field(default_factory=list)
    legacy_version: int = LEGACY_VERSION
    # every extension as received, (type, body) in wire order: what a second ClientHello is
    # compared with after a HelloRetryRequest (section 4.1.2); parse_client_hello fills it
    received_extensions: list = dataclasses.field(default_factory=list, compare=False,
                                                  repr=False)


# Keyed by ExtensionType members, looked up with the plain ints read off the wire.
_CH_DECODERS: dict[int, tuple[str, Callable[[bytes], object]]] = {
    ET.server_name: ("server_name", ext.decode_server_name),
    ET.supported_versions: ("supported_versions", ext.decode_supported_versions_list),
    ET.supported_groups: ("supported_groups", ext.decode_uint16_list),
    ET.signature_algorithms: ("signature_algorithms", ext.decode_uint16_list),
    ET.signature_algorithms_cert: ("signature_algorithms_cert", ext.decode_uint16_list),
    ET.key_share: ("key_share", ext.decode_client_shares),
    ET.application_layer_protocol_negotiation: ("alpn_protocols", ext.decode_alpn),
    ET.cookie: ("cookie", ext.decode_cookie),
    ET.psk_key_exchange_modes: ("psk_key_exchange_modes", ext.decode_psk_modes),
}


def parse_client_hello(body: bytes) -> ClientHello:
    """ClientHello; legacy_version is kept for the server to check (section 4.1.2, D.5)."""
    reader = Reader(body)
    legacy_version = reader.uint16()
    random = reader.bytes(32)
    session_id = reader.opaque(1)
    if len(session_id) > 32:
        raise DecodeError("legacy_session_id longer than 32 bytes")
    suites = reader.uint16_list(2, minimum=2)
    compression = reader.opaque(1, minimum=1)
    hello = ClientHello(random, session_id, suites, compression, legacy_version=legacy_version)
    extensions = ext.read_extensions(reader) if not reader.at_end() else []
    reader.expect_end()
    hello.received_extensions = extensions
    for index, (ext_type, data) in enumerate(extensions):
        decoder = _CH_DECODERS.get(ext_type)
        if decoder is not None:
            setattr(hello, decoder[0], decoder[1](data))
        elif ext_type == ET.pre_shared_key:
            if index != len(extensions) - 1:
                raise IllegalParameterError("pre_shared_key is not the last extension")
            hello.pre_shared_key = ext.decode_offered_psks(data)
        elif ext_type == ET.early_data:
            ext.decode_early_data_indication(data)
            hello.early_data = True
        else:
            hello.other_extensions.append((ext_type, data))
    return hello


_ENCODED: dict = {}  # (extension type, values) -> encoded extension, for the lists a config repeats


def _encoded(ext_type: int, values, encoder) -> bytes:
    key = (ext_type, tuple(values))
    data = _ENCODED.get(key)
    if data is None:
        data = encoder(values)
        if len(_ENCODED) < 512:
            _ENCODED[key] = data
    return data


def build_client_hello(hello: ClientHello) -> bytes:
    parts = []
    if hello.server_name is not None:
        parts.append(_encoded(ET.server_name, (hello.server_name,),
                              lambda names: ext.encode_server_name(names[0])))
    if hello.supported_versions is not None:
        parts.append(_encoded(ET.supported_versions, hello.supported_versions,
                              ext.encode_supported_versions_list))
    for ext_type, values in (
        (ET.supported_groups, hello.supported_groups),
        (ET.signature_algorithms, hello.signature_algorithms),
        (ET.signature_algorithms_cert, hello.signature_algorithms_cert),
    ):
        if values is not None:
            parts.append(
                _encoded(ext_type, values, lambda v, t=ext_type: ext.encode_uint16_list(t, v))
            )
    if hello.alpn_protocols is not None:
        parts.append(_encoded(ET.application_layer_protocol_negotiation, hello.alpn_protocols,
                              ext.encode_alpn))
    if hello.cookie is not None:
        parts.append(ext.encode_cookie(hello.cookie))
    if hello.psk_key_exchange_modes is not None:
        parts.append(_encoded(ET.psk_key_exchange_modes, hello.psk_key_exchange_modes,
                              lambda modes: ext.encode_psk_modes(bytes(modes))))
    if hello.early_data:
        parts.append(ext.EARLY_DATA_INDICATION)
    for ext_type, data in hello.other_extensions:
        parts.append(ext.extension(ext_type, data))
    if hello.key_share is not None:
        parts.append(ext.encode_client_shares(hello.key_share))
    if hello.pre_shared_key is not None:
        parts.append(ext.encode_offered_psks(hello.pre_shared_key))
    body = b"".join((
        u16(hello.legacy_version), hello.random, opaque8(hello.legacy_session_id),
        _encoded(-1, hello.cipher_suites, uint16_list), opaque8(hello.legacy_compression_methods),
        ext.extension_block(parts),
    ))
    return handshake(HT.client_hello, body)


@dataclasses.dataclass
class ServerHello:
    """ServerHello or HelloRetryRequest (section 4.1.3, 4.1.4)."""

    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: int
    supported_version: int | None = None
    key_share: tuple | None = None  # (group, key_exchange) in a ServerHello
    selected_group: int | None = None  # in a HelloRetryRequest
    cookie: bytes | None = None  # in a HelloRetryRequest
    pre_shared_key: int | None = None  # selected_identity in a ServerHello (4.2.11)
    legacy_compression_method: int = 0
    other_extensions: list = dataclasses.field(default_factory=list)
    legacy_version: int = LEGACY_VERSION

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM


def parse_server_hello(body: bytes) -> ServerHello:
    reader = Reader(body)
    legacy_version = reader.uint16()
    random = reader.bytes(32)
    session_id = reader.opaque(1)
    if len(session_id) > 32:
        raise DecodeError("legacy_session_id_echo longer than 32 bytes")
    suite = reader.uint16()
    compression = reader.uint8()
    hello = ServerHello(random, session_id, suite, legacy_compression_method=compression,
                        legacy_version=legacy_version)
    extensions = ext.read_extensions(reader) if not reader.at_end() else []
    reader.expect_end()
    retry = hello.is_hello_retry_request
    for ext_type, data in extensions:
        if ext_type == ET.supported_versions:
            hello.supported_version = ext.decode_supported_version(data)
        elif ext_type == ET.key_share:
            if retry:
                hello.selected_group = ext.decode_selected_group(data)
            else:
                hello.key_share = ext.decode_server_share(data)
        elif ext_type == ET.cookie and retry:
            hello.cookie = ext.decode_cookie(data)
        elif ext_type == ET.pre_shared_key and not retry:
            hello.pre_shared_key = ext.decode_selected_identity(data)
        else:
            hello.other_extensions.append((ext_type, data))
    return hello


def build_server_hello(hello: ServerHello) -> bytes:
    parts = []
    if hello.pre_shared_key is not None:
        parts.append(ext.encode_selected_identity(hello.pre_shared_key))
    if hello.key_share is not None:
        parts.append(ext.encode_server_share(*hello.key_share))
    if hello.selected_group is not None:
        parts.append(ext.encode_selected_group(hello.selected_group))
    if hello.supported_version is not None:
        parts.append(ext.encode_supported_version(hello.supported_version))
    if hello.cookie is not None:
        parts.append(ext.encode_cookie(hello.cookie))
    for ext_type, data in hello.other_extensions:
        parts.append(ext.extension(ext_type, data))
    body = b"".join((
        u16(hello.legacy_version), hello.random, opaque8(hello.legacy_session_id_echo),
        u16(hello.cipher_suite), bytes((hello.legacy_compression_method,)),
        ext.extension_block(parts),
    ))
    return handshake(HT.server_hello, body)


@dataclasses.dataclass
class EncryptedExtensions:
    """EncryptedExtensions (section 4.3.1)."""

    alpn_protocol: bytes | None = None
    server_name_acknowledged: bool = False
    supported_groups: list | None = None
    early_data: bool = False  # the server accepts the client's 0-RTT data (4.2.10)
    other_extensions: list = dataclasses.field(default_factory=list)


def parse_encrypted_extensions(body: bytes) -> EncryptedExtensions:
    reader = Reader(body)
    message = EncryptedExtensions()
    for ext_type, data in ext.read_extensions(reader):
        if ext_type == ET.application_layer_protocol_negotiation:
            protocols = ext.decode_alpn(data)
            if len(protocols) != 1:
                raise DecodeError("the server selected %d ALPN protocols" % len(protocols))
            message.alpn_protocol = protocols[0]
        elif ext_type == ET.server_name:
            if data:
                raise DecodeError("the server_name acknowledgement is not empty")
            message.server_name_acknowledged = True
        elif ext_type == ET.supported_groups:
            message.supported_groups = ext.decode_uint16_list(data)
        elif ext_type == ET.early_data:
            ext.decode_early_data_indication(data)
            message.early_data = True
        else:
            message.other_extensions.append((ext_type, data))
    reader.expect_end()
    return message


def build_encrypted_extensions(message: EncryptedExtensions) -> bytes:
    parts = []
    if message.supported_groups is not None:
        parts.append(ext.encode_uint16_list(ET.supported_groups, message.supported_groups))
    if message.server_name_acknowledged:
        parts.append(ext.encode_server_name(None))
    if message.alpn_protocol is not None:
        parts.append(ext.encode_alpn([message.alpn_protocol]))
    if message.early_data:
        parts.append(ext.EARLY_DATA_INDICATION)
    for ext_type, data in message.other_extensions:
        parts.append(ext.extension(ext_type, data))
    return handshake(HT.encrypted_extensions, ext.extension_block(parts))


@dataclasses.dataclass
class CertificateRequest:
    """CertificateRequest (section 4.3.2); signature_algorithms is mandatory."""

    certificate_request_context: bytes = b""
    signature_algorithms: list | None = None
    signature_algorithms_cert: list | None = None
    other_extensions: list = dataclasses.field(default_factory=list)


def parse_certificate_request(body: bytes) -> CertificateRequest:
    reader = Reader(body)
    message = CertificateRequest(reader.opaque(1))
    for ext_type, data in ext.read_extensions(reader):
        if ext_type == ET.signature_algorithms:
            message.signature_algorithms = ext.decode_uint16_list(data)
        elif ext_type == ET.signature_algorithms_cert:
            message.signature_algorithms_cert = ext.decode_uint16_list(data)
        else:
            message.other_extensions.append((ext_type, data))
    reader.expect_end()
    return message


def build_certificate_request(message: CertificateRequest) -> bytes:
    parts = []
    if message.signature_algorithms is not None:
        parts.append(ext.encode_uint16_list(ET.signature_algorithms, message.signature_algorithms))
    if message.signature_algorithms_cert is not None:
        parts.append(
            ext.encode_uint16_list(ET.signature_algorithms_cert, message.signature_algorithms_cert)
        )
    for ext_type, data in message.other_extensions:
        parts.append(ext.extension(ext_type, data))
    body = opaque8(message.certificate_request_context) + ext.extension_block(parts)
    return handshake(HT.certificate_request, body)


@dataclasses.dataclass
class Certificate:
    """Certificate (section 4.4.2): X.509 DER entries, each with its extensions block."""

    certificate_request_context: bytes = b""
    certificate_list: list = dataclasses.field(default_factory=list)  # [(cert_data, ext bytes)]


def parse_certificate(body: bytes) -> Certificate:
    reader = Reader(body)
    message = Certificate(reader.opaque(1))
    with reader.vector(3):
        while not reader.at_end():
            cert_data = reader.opaque(3, minimum=1)
            with reader.vector(2):
                extensions = reader.bytes(reader.remaining())
            message.certificate_list.append((cert_data, extensions))
    reader.expect_end()
    return message


def build_certificate(message: Certificate) -> bytes:
    entries = b"".join(
        opaque24(cert_data) + opaque16(extensions)
        for cert_data, extensions in message.certificate_list
    )
    body = opaque8(message.certificate_request_context) + opaque24(entries)
    return handshake(HT.certificate, body)


@dataclasses.dataclass
class CertificateVerify:
    """CertificateVerify (section 4.4.3)."""

    algorithm: int
    signature: bytes


def parse_certificate_verify(body: bytes) -> CertificateVerify:
    reader = Reader(body)
    message = CertificateVerify(reader.uint16(), reader.opaque(2))
    reader.expect_end()
    return message


def build_certificate_verify(message: CertificateVerify) -> bytes:
    return handshake(HT.certificate_verify, u16(message.algorithm) + opaque16(message.signature))


@dataclasses.dataclass
class Finished:
    """Finished (section 4.4.4): verify_data is Hash.length bytes."""

    verify_data: bytes


def parse_finished(body: bytes, hash_len: int) -> Finished:
    if len(body) != hash_len:
        raise DecodeError("Finished of %d bytes, expected %d" % (len(body), hash_len))
    return Finished(bytes(body))


def build_finished(message: Finished) -> bytes:
    return handshake(HT.finished, message.verify_data)


@dataclasses.dataclass
class KeyUpdate:
    """KeyUpdate (section 4.6.3)."""

    request_update: int


def parse_key_update(body: bytes) -> KeyUpdate:
    reader = Reader(body)
    value = reader.uint8()
    reader.expect_end()
    if value not in (0, 1):
        raise IllegalParameterError("KeyUpdate.request_update is %d" % value)
    return KeyUpdate(value)


def build_key_update(message: KeyUpdate) -> bytes:
    return handshake(HT.key_update, bytes((message.request_update,)))


@dataclasses.dataclass
class NewSessionTicket:
    """NewSessionTicket (section 4.6.1); ``max_early_data`` is the ticket's early_data
    extension (None when absent), the other extensions are kept as (type, body) pairs."""

    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: list = dataclasses.field(default_factory=list)
    max_early_data: int | None = None


def parse_new_session_ticket(body: bytes) -> NewSessionTicket:
    reader = Reader(body)
    lifetime = reader.uint32()
    age_add = reader.uint32()
    nonce = reader.opaque(1)
    ticket = reader.opaque(2, minimum=1)
    extensions = ext.read_extensions(reader)
    reader.expect_end()
    message = NewSessionTicket(lifetime, age_add, nonce, ticket, [])
    for ext_type, data in extensions:
        if ext_type == ET.early_data:
            message.max_early_data = ext.decode_max_early_data(data)
        else:
            message.extensions.append((ext_type, data))
    return message


def build_new_session_ticket(message: NewSessionTicket) -> bytes:
    parts = [ext.extension(t, d) for t, d in message.extensions]
    if message.max_early_data is not None:
        parts.insert(0, ext.encode_max_early_data(message.max_early_data))
    body = b"".join((
        message.ticket_lifetime.to_bytes(4, "big"), message.ticket_age_add.to_bytes(4, "big"),
        opaque8(message.ticket_nonce), opaque16(message.ticket), ext.extension_block(parts),
    ))
    return handshake(HT.new_session_ticket, body)


END_OF_EARLY_DATA = handshake(HT.end_of_early_data, b"")  # EndOfEarlyData (section 4.5)


def parse_end_of_early_data(body: bytes) -> None:
    if body:
        raise DecodeError("EndOfEarlyData of %d bytes; it is empty" % len(body))


def message_hash(hash_of_client_hello: bytes) -> bytes:
    """The synthetic message that replaces ClientHello1 after a HelloRetryRequest (4.4.1)."""
    return handshake(HT.message_hash, hash_of_client_hello)
