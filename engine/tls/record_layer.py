"""The TLS 1.3 rules over the record core of engine.records (RFC 8446 section 5).

A connection's records go through one :func:`~engine.records.RecordLayer` object (the native core
or its Python twin): it frames what is received, opens every protected application_data record in
a row in one call, seals what is written and keeps the bytes to send. What stays here is what
TLS allows when: which plaintext records may arrive (change_cipher_spec for middlebox
compatibility, alerts from a peer that fails before it has keys, handshake messages before the
keys are set), the size limits of plaintext records, and the skipping of rejected 0-RTT data.
"""

from __future__ import annotations

from ..errors import (
    BadRecordMacError,
    InternalError,
    RecordError,
    RecordOverflowError,
    UnexpectedMessageError,
)
from ..records import Stop
from .constants import MAX_PLAINTEXT, ContentType

_PLAINTEXT_TYPES = (ContentType.change_cipher_spec, ContentType.alert, ContentType.handshake)


def check_plaintext_record(content_type: int, length: int, keys_set: bool) -> None:
    """Refuse a TLSPlaintext record from its header alone (section 5.1), so that a peer that
    does not speak TLS is told at once.

    Allowed: change_cipher_spec and alerts at any time, handshake messages until the peer's
    records are protected, each at most 2^14 bytes.
    """
    if content_type not in _PLAINTEXT_TYPES:
        if content_type == ContentType.application_data:
            raise UnexpectedMessageError("application_data record before keys were set")
        raise UnexpectedMessageError("record of unknown content type %d" % content_type)
    if content_type == ContentType.handshake and keys_set:
        raise UnexpectedMessageError("plaintext handshake record after keys were set")
    if length > MAX_PLAINTEXT:
        raise RecordOverflowError("plaintext record of %d bytes exceeds 2^14" % length)


def read_error(stop: int, length: int) -> Exception:
    """The exception for a read that a record stopped (section 5.2, 5.5)."""
    if stop == Stop.AUTH:
        return BadRecordMacError("a record failed authentication")
    if stop == Stop.OVERFLOW:
        return RecordOverflowError("record of %d bytes exceeds what TLS 1.3 allows" % length)
    if stop == Stop.UNEXPECTED:
        return UnexpectedMessageError("a record has no content type (all zeros, section 5.4)")
    if stop == Stop.SEQ:
        return RecordError("the peer's sequence numbers are used up")
    return InternalError("the record layer stopped unexpectedly (%d)" % stop)
