"""The three TLS 1.3 cipher suites and the arithmetic of record sizes (RFC 8446 sections
5.2-5.4, B.4).

The table of suites here is the project's only one: engine.tls.constants reads it for the
handshake, and a suite's IANA code point is also its number in csrc/engine_records.h.

Both backends share this module, so the Python twin and the native code agree on every length
before a byte is written: how many records a plaintext makes, how long each one is, and which
sequence numbers they use.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import NamedTuple, Optional

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ..errors import RecordError

APPLICATION_DATA = 23
HEADER_SIZE = 5  # opaque_type, legacy_record_version, length (RFC 8446 section 5.2)
TAG_SIZE = 16  # all three suites use a 16-byte tag
IV_SIZE = 12
MAX_FRAGMENT = 2**14  # TLSPlaintext.fragment limit (section 5.1)
MAX_INNER_PLAINTEXT = 2**14 + 1  # TLSInnerPlaintext limit (section 5.4)
MAX_CIPHERTEXT = 2**14 + 256  # TLSCiphertext.length limit (section 5.2)
SEQ_LIMIT = 2**64  # sequence numbers run from 0 to 2^64 - 1 (section 5.3)
RECORD_OVERHEAD = HEADER_SIZE + 1 + TAG_SIZE  # an unpadded record: header, content type, tag


class Stop(enum.IntEnum):
    """Why a call of the record core ended: the codes of csrc/engine_records.h."""

    OK = 0
    AUTH = 1  # a record failed authentication
    OVERFLOW = 2  # a record longer than TLS 1.3 allows
    UNEXPECTED = 3  # an inner plaintext of all zeros
    SEQ = 4  # sequence numbers used up
    SPACE = 5  # the output buffer is too small
    RECORD = 6  # a read stopped to hand over one record
    UPDATE = 7  # a write succeeded and the key nears its usage limit


class Opened(NamedTuple):
    """What opening a batch of records gave, as both backends report it.

    ``segments`` are ``(content_type, offset, length)`` for the records opened, ``consumed`` the
    wire bytes they took, ``records`` their number. ``error`` is None, or why the record at index
    ``records`` stopped the call: ``auth`` (failed authentication), ``overflow`` (too long),
    ``unexpected`` (inner plaintext all zeros), ``seq`` (sequence numbers used up) or ``space``
    (its plaintext does not fit the output buffer).
    """

    segments: list
    consumed: int
    records: int
    error: Optional[str]


@dataclasses.dataclass(frozen=True)
class Suite:
    """One TLS 1.3 cipher suite (RFC 8446 appendix B.4): its IANA name and code point, its
    AEAD (a cryptography class) and key size, and the hash of its key schedule (section 7.1).
    """

    name: str
    code: int  # CipherSuite code point; ENGINE_SUITE_* of csrc/engine_records.h too
    key_size: int
    aead: type
    hash_name: str
    hash_len: int
    update_after: int  # records per key before a KeyUpdate is due (section 5.5), 0: never


# AES-GCM may protect 2^24.5 full-size records under one key (RFC 8446 section 5.5): a KeyUpdate
# is due after 2^24. ChaCha20-Poly1305's limit is beyond the sequence number's range.
AES_GCM_UPDATE_AFTER = 2**24

SUITE_TABLE = (
    Suite("TLS_AES_128_GCM_SHA256", 0x1301, 16, AESGCM, "sha256", 32, AES_GCM_UPDATE_AFTER),
    Suite("TLS_AES_256_GCM_SHA384", 0x1302, 32, AESGCM, "sha384", 48, AES_GCM_UPDATE_AFTER),
    Suite("TLS_CHACHA20_POLY1305_SHA256", 0x1303, 32, ChaCha20Poly1305, "sha256", 32, 0),
)
SUITES = tuple(s.name for s in SUITE_TABLE)
_BY_NAME = {s.name: s for s in SUITE_TABLE}


def suite_named(name: str) -> Suite:
    """The suite with IANA name ``name``; ValueError for anything else."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError("unknown cipher suite %r; expected one of %s" % (name, ", ".join(SUITES)))


def check_key(suite: Suite, key, iv) -> tuple[bytes, bytes]:
    """The key and static IV as bytes, with their lengths checked against the suite."""
    key, iv = bytes(key), bytes(iv)
    if len(key) != suite.key_size:
        raise ValueError("%s needs a %d-byte key, not %d bytes" % (suite.name, suite.key_size, len(key)))
    if len(iv) != IV_SIZE:
        raise ValueError("the static IV must be %d bytes, not %d" % (IV_SIZE, len(iv)))
    return key, iv


def check_seq(seq) -> int:
    """A starting sequence number: an integer from 0 to 2^64 (2^64 means the key is used up)."""
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise TypeError("seq must be an int")
    if not 0 <= seq <= SEQ_LIMIT:
        raise ValueError("seq must be between 0 and 2^64")
    return seq


def check_seal_options(content_type, max_fragment, pad_to, threads) -> None:
    """Validate the keyword options of seal()/seal_into()/seal_messages()."""
    if (type(content_type) is int and 0 < content_type < 256
            and type(max_fragment) is int and 0 < max_fragment <= MAX_FRAGMENT
            and type(pad_to) is int and pad_to >= 0
            and type(threads) is int and 0 < threads <= 256):
        return
    for name, value in (("content_type", content_type), ("max_fragment", max_fragment),
                        ("pad_to", pad_to), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("%s must be an int" % name)
    if not 1 <= content_type <= 255:
        raise ValueError("content_type must be between 1 and 255")
    if not 1 <= max_fragment <= MAX_FRAGMENT:
        raise ValueError("max_fragment must be between 1 and 2^14")
    if pad_to < 0:
        raise ValueError("pad_to must not be negative")
    check_threads(threads)


def check_threads(threads) -> None:
    if type(threads) is int and 0 < threads <= 256:
        return
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError("threads must be an int")
    if not 1 <= threads <= 256:
        raise ValueError("threads must be between 1 and 256")


def inner_size(content_len: int, pad_to: int) -> int:
    """Length of TLSInnerPlaintext for ``content_len`` bytes of content (section 5.4).

    The content type byte follows the content; with ``pad_to`` > 0 zeros bring the length up to a
    multiple of ``pad_to``, never beyond 2^14 + 1.
    """
    size = content_len + 1
    if pad_to > 0:
        size = min(-(-size // pad_to) * pad_to, MAX_INNER_PLAINTEXT)
    return size


def record_size(content_len: int, pad_to: int) -> int:
    """Bytes on the wire for one record carrying ``content_len`` bytes of content."""
    return HEADER_SIZE + inner_size(content_len, pad_to) + TAG_SIZE


def sealed_layout(data_len: int, max_fragment: int, pad_to: int) -> tuple[int, int]:
    """(number of records, total bytes) that sealing ``data_len`` bytes produces."""
    full, rest = divmod(data_len, max_fragment)
    if pad_to == 0:
        records = full + (1 if rest else 0)
        return records, data_len + records * (HEADER_SIZE + 1 + TAG_SIZE)
    total = full * record_size(max_fragment, pad_to)
    if rest:
        total += record_size(rest, pad_to)
    return full + (1 if rest else 0), total


def plaintext_records(content_type: int, data, version: int = 0x0303) -> bytes:
    """TLSPlaintext records of at most 2^14 bytes each carrying ``data`` (section 5.1).

    Empty ``data`` gives one empty record.
    """
    prefix = bytes((content_type, version >> 8, version & 0xFF))
    if len(data) <= MAX_FRAGMENT:
        return prefix + len(data).to_bytes(2, "big") + bytes(data)
    out = []
    for start in range(0, len(data), MAX_FRAGMENT):
        chunk = data[start:start + MAX_FRAGMENT]
        out.append(prefix + len(chunk).to_bytes(2, "big") + bytes(chunk))
    return b"".join(out)


def check_capacity(capacity: int, size: int) -> None:
    """Refuse an output buffer of ``capacity`` bytes for records of ``size`` bytes."""
    if size > capacity:
        raise ValueError("the output buffer holds %d bytes; the records need %d" % (capacity, size))


def check_seq_room(seq: int, records: int) -> None:
    """Refuse to seal ``records`` records if that would need sequence number 2^64 or more."""
    if records > SEQ_LIMIT - seq:
        raise RecordError(
            "the sequence number would pass 2^64 - 1; the traffic key must be updated first"
        )


def nonce(iv_int: int, seq: int) -> bytes:
    """The per-record nonce: the static IV XOR the 64-bit sequence number, left-padded (5.3)."""
    return (iv_int ^ seq).to_bytes(IV_SIZE, "big")


def writable_view(buffer) -> memoryview:
    """A flat, writable byte view of ``buffer``; TypeError/ValueError if it is not one."""
    view = memoryview(buffer)
    if view.readonly:
        raise TypeError("the output buffer must be writable (bytearray, memoryview...)")
    if not view.c_contiguous:
        raise ValueError("the output buffer must be contiguous")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def byte_view(data) -> memoryview:
    """A flat byte view of a bytes-like input."""
    view = memoryview(data)
    if not view.c_contiguous:
        raise ValueError("the input must be a contiguous bytes-like object")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def input_buffer(data):
    """``(object, length in bytes)`` for a bytes-like input, without copying it."""
    if type(data) is bytes or type(data) is bytearray:
        return data, len(data)
    view = byte_view(data)
    return view, len(view)


def output_buffer(buffer):
    """``(object, length in bytes)`` for a writable bytes-like output buffer."""
    if type(buffer) is bytearray:
        return buffer, len(buffer)
    view = writable_view(buffer)
    return view, len(view)


def release_view(view, given) -> None:
    """Release a view this module made of a caller's buffer, so the caller may resize it."""
    if view is not given and isinstance(view, memoryview):
        view.release()
