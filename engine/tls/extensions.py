"""The extension block and the bodies of the extensions this engine speaks (RFC 8446 4.2).

Each extension has a ``decode_*`` function over its body (the bytes inside
``extension_data``) and an ``encode_*`` function that returns the whole extension
(type, length and body). Unknown extensions travel as ``(type, body)`` pairs.
"""

from __future__ import annotations

import struct

from ..errors import DecodeError, IllegalParameterError
from .constants import ExtensionType as ET
from .wire import Reader, opaque8, opaque16, u16, uint16_list

PADDING = 21  # the padding extension (RFC 7685): any length, any place, ignored


def read_extensions(reader: Reader) -> list[tuple[int, bytes]]:
    """Read ``Extension extensions<0..2^16-1>``; a repeated type is illegal_parameter (4.2)."""
    data = reader.data
    pos = reader.pos
    if pos + 2 > reader.end:
        raise DecodeError("extensions block truncated")
    end = pos + 2 + ((data[pos] << 8) | data[pos + 1])
    if end > reader.end:
        raise DecodeError("extensions block overruns its message")
    pos += 2
    out: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    while pos < end:
        if pos + 4 > end:
            raise DecodeError("extension header truncated")
        ext_type = (data[pos] << 8) | data[pos + 1]
        body_end = pos + 4 + ((data[pos + 2] << 8) | data[pos + 3])
        if body_end > end:
            raise DecodeError("extension %d overruns the extensions block" % ext_type)
        if ext_type in seen:
            raise IllegalParameterError("extension %d appears twice" % ext_type)
        seen.add(ext_type)
        out.append((ext_type, bytes(data[pos + 4:body_end])))
        pos = body_end
    reader.pos = end
    return out


def extension(ext_type: int, body: bytes) -> bytes:
    return u16(ext_type) + opaque16(body)


def extension_block(extensions) -> bytes:
    return opaque16(b"".join(extensions))


def _whole(body: bytes) -> Reader:
    return Reader(body)


# --- server_name (RFC 6066 section 3) -------------------------------------------------------


def decode_server_name(body: bytes) -> str | None:
    """The host_name of a ClientHello's server_name; empty body (a server's ack) gives None."""
    if not body:
        return None
    reader = _whole(body)
    name = None
    with reader.vector(2, minimum=1):
        while not reader.at_end():
            name_type = reader.uint8()
            value = reader.opaque(2, minimum=1)
            if name_type == 0 and name is None:
                try:
                    name = value.decode("ascii")
                except UnicodeDecodeError:
                    raise DecodeError("server_name is not ASCII") from None
    reader.expect_end()
    return name


def encode_server_name(host: str | None) -> bytes:
    if host is None:
        return extension(ET.server_name, b"")
    entry = b"\x00" + opaque16(host.encode("ascii"))
    return extension(ET.server_name, opaque16(entry))


# --- supported_versions (section 4.2.1) -----------------------------------------------------


def decode_supported_versions_list(body: bytes) -> list[int]:
    """``ProtocolVersion versions<2..254>`` of a ClientHello, filling the whole body."""
    size = len(body)
    if size < 3 or not size & 1 or body[0] != size - 1:
        raise DecodeError("malformed supported_versions list")
    return list(struct.unpack_from(">%dH" % ((size - 1) >> 1), body, 1))


def decode_supported_version(body: bytes) -> int:
    reader = _whole(body)
    version = reader.uint16()
    reader.expect_end()
    return version


def encode_supported_versions_list(versions) -> bytes:
    return extension(ET.supported_versions, uint16_list(versions, 1))


def encode_supported_version(version: int) -> bytes:
    return extension(ET.supported_versions, u16(version))


# --- supported_groups, signature_algorithms(_cert) (4.2.7, 4.2.3) ----------------------------


def decode_uint16_list(body: bytes) -> list[int]:
    """A ``uint16 values<2..2^16-2>`` vector filling the whole body."""
    size = len(body)
    if size < 4 or size & 1 or ((body[0] << 8) | body[1]) != size - 2:
        raise DecodeError("malformed list of 16-bit values")
    return list(struct.unpack_from(">%dH" % ((size - 2) >> 1), body, 2))


def encode_uint16_list(ext_type: int, values) -> bytes:
    return extension(ext_type, uint16_list(values))


# --- key_share (section 4.2.8) -------------------------------------------------------------


def decode_client_shares(body: bytes) -> list[tuple[int, bytes]]:
    """KeyShareClientHello: ``KeyShareEntry client_shares<0..2^16-1>`` filling the body.

    A framing fault is decode_error; an empty key_exchange or the same group twice is
    illegal_parameter (section 4.2.8). One pass over the entries, however many there are.
    """
    size = len(body)
    if size < 2 or ((body[0] << 8) | body[1]) != size - 2:
        raise DecodeError("malformed key_share list")
    shares: list[tuple[int, bytes]] = []
    groups: set[int] = set()
    pos = 2
    while pos < size:
        if pos + 4 > size:
            raise DecodeError("key share entry truncated")
        group = (body[pos] << 8) | body[pos + 1]
        end = pos + 4 + ((body[pos + 2] << 8) | body[pos + 3])
        if end > size:
            raise DecodeError("key share entry overruns the key_share list")
        if end == pos + 4:
            raise IllegalParameterError("empty key_exchange for group %d" % group)
        if group in groups:
            raise IllegalParameterError("two key shares for group %d" % group)
        groups.add(group)
        shares.append((group, body[pos + 4:end]))
        pos = end
    return shares


def encode_client_shares(shares) -> bytes:
    body = b"".join(u16(group) + opaque16(key) for group, key in shares)
    return extension(ET.key_share, opaque16(body))


def decode_server_share(body: bytes) -> tuple[int, bytes]:
    """KeyShareServerHello; an empty key_exchange is illegal_parameter (section 4.2.8)."""
    reader = _whole(body)
    group = reader.uint16()
    key = reader.opaque(2)
    reader.expect_end()
    if not key:
        raise IllegalParameterError("empty key_exchange for group %d" % group)
    return group, key


def encode_server_share(group: int, key: bytes) -> bytes:
    return extension(ET.key_share, u16(group) + opaque16(key))


def decode_selected_group(body: bytes) -> int:
    """KeyShareHelloRetryRequest: just the selected group."""
    return decode_supported_version(body)


def encode_selected_group(group: int) -> bytes:
    return extension(ET.key_share, u16(group))


# --- application_layer_protocol_negotiation (RFC 7301) ---------------------------------------


def decode_alpn(body: bytes) -> list[bytes]:
    reader = _whole(body)
    protocols = []
    with reader.vector(2, minimum=2):
        while not reader.at_end():
            protocols.append(reader.opaque(1, minimum=1))
    reader.expect_end()
    return protocols


def encode_alpn(protocols) -> bytes:
    return extension(
        ET.application_layer_protocol_negotiation, opaque16(b"".join(opaque8(p) for p in protocols))
    )


# --- cookie (section 4.2.2) ----------------------------------------------------------------


def decode_cookie(body: bytes) -> bytes:
    reader = _whole(body)
    cookie = reader.opaque(2, minimum=1)
    reader.expect_end()
    return cookie


def encode_cookie(cookie: bytes) -> bytes:
    return extension(ET.cookie, opaque16(cookie))


# --- psk_key_exchange_modes (section 4.2.9) -------------------------------------------------


def decode_psk_modes(body: bytes) -> bytes:
    reader = _whole(body)
    modes = reader.opaque(1, minimum=1)
    reader.expect_end()
    return modes


def encode_psk_modes(modes: bytes) -> bytes:
    return extension(ET.psk_key_exchange_modes, opaque8(modes))


# --- early_data (section 4.2.10) -----------------------------------------------------------


def decode_early_data_indication(body: bytes) -> None:
    """The empty early_data of a ClientHello or EncryptedExtensions."""
    if body:
        raise DecodeError("early_data extension of %d bytes where it is empty" % len(body))


def decode_max_early_data(body: bytes) -> int:
    """``uint32 max_early_data_size`` of a NewSessionTicket's early_data."""
    reader = _whole(body)
    size = reader.uint32()
    reader.expect_end()
    return size


EARLY_DATA_INDICATION = extension(ET.early_data, b"")


def encode_max_early_data(size: int) -> bytes:
    return extension(ET.early_data, size.to_bytes(4, "big"))


# --- pre_shared_key (section 4.2.11) -------------------------------------------------------


class OfferedPsks:
    """OfferedPsks of a ClientHello: ``identities`` as (identity, obfuscated_ticket_age)
    pairs and one binder for each; ``binders_size`` is the length of the binders vector with
    its prefix, which the ClientHello ends with (what a binder does not cover, 4.2.11.2)."""

    __slots__ = ("identities", "binders", "binders_size")

    def __init__(self, identities: list, binders: list, binders_size: int = 0):
        self.identities = identities
        self.binders = binders
        self.binders_size = binders_size or 2 + sum(1 + len(b) for b in binders)

    def __eq__(self, other) -> bool:
        return (isinstance(other, OfferedPsks) and self.identities == other.identities
                and self.binders == other.binders)

    def __repr__(self) -> str:
        return "OfferedPsks(%d identities)" % len(self.identities)


def decode_offered_psks(body: bytes) -> OfferedPsks:
    """``PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>``; a count of
    binders other than the count of identities is illegal_parameter (4.2.11)."""
    reader = _whole(body)
    identities = []
    with reader.vector(2, minimum=7):
        while not reader.at_end():
            identity = reader.opaque(2, minimum=1)
            identities.append((identity, reader.uint32()))
    start = reader.pos
    binders = []
    with reader.vector(2, minimum=33):
        while not reader.at_end():
            binders.append(reader.opaque(1, minimum=32))
    reader.expect_end()
    if len(binders) != len(identities):
        raise IllegalParameterError("%d PSK binders for %d identities"
                                    % (len(binders), len(identities)))
    return OfferedPsks(identities, binders, len(body) - start)


def encode_offered_psks(psks: OfferedPsks) -> bytes:
    identities = b"".join(opaque16(identity) + age.to_bytes(4, "big")
                          for identity, age in psks.identities)
    binders = b"".join(opaque8(binder) for binder in psks.binders)
    return extension(ET.pre_shared_key, opaque16(identities) + opaque16(binders))


def decode_selected_identity(body: bytes) -> int:
    """``uint16 selected_identity`` of a ServerHello's pre_shared_key."""
    return decode_supported_version(body)


def encode_selected_identity(index: int) -> bytes:
    return extension(ET.pre_shared_key, u16(index))
