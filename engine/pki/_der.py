"""Just enough ASN.1 (ITU-T X.690) to tell a damaged PKCS#12 file from a wrong password.

Reading never decides whether a file is accepted (pyca/cryptography does that); these functions
only explain, after a load failed, whether the bytes were cut short, malformed, or well formed
(in which case the integrity check or the decryption failed: the password is wrong). BER's
indefinite lengths, which some tools write into PKCS#12 files, are understood.
"""

from __future__ import annotations

TRUNCATED = "truncated"
CORRUPT = "corrupt"
WELL_FORMED = "well-formed"

# The DER encoding of the id-data content type, 1.2.840.113549.1.7.1 (RFC 2315 section 14).
_ID_DATA = bytes.fromhex("06092a864886f70d010701")
_MAX_DEPTH = 32


class _Cut(Exception):
    """An element runs past the end of the bytes."""


class _Bad(Exception):
    """An element cannot be BER."""


def _element(data: bytes, offset: int, end: int, depth: int = 0):
    """(tag, content start, content end, offset after the element) of the element at ``offset``."""
    if depth > _MAX_DEPTH:
        raise _Bad()
    if offset + 2 > end:
        raise _Cut()
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise _Bad()  # high tag numbers do not occur in PKCS#12
    first = data[offset + 1]
    start = offset + 2
    if first == 0x80:  # indefinite length: constructed only, ends with two zero octets
        if not tag & 0x20:
            raise _Bad()
        position = start
        while True:
            if position + 2 > end:
                raise _Cut()
            if data[position] == 0 and data[position + 1] == 0:
                return tag, start, position, position + 2
            position = _element(data, position, end, depth + 1)[3]
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count > 4 or first == 0xFF:
            raise _Bad()
        if start + count > end:
            raise _Cut()
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    if start + length > end:
        raise _Cut()
    return tag, start, start + length, start + length


def _children(data: bytes, start: int, end: int, depth: int = 0):
    offset = start
    while offset < end:
        tag, cstart, cend, offset = _element(data, offset, end, depth)
        yield tag, cstart, cend


def _walk(data: bytes, start: int, end: int, depth: int = 0) -> None:
    """Check every element in data[start:end], descending into constructed ones and into the
    content of each id-data ContentInfo."""
    if depth > _MAX_DEPTH:
        raise _Bad()
    for tag, cstart, cend in _children(data, start, end, depth):
        if not tag & 0x20:
            continue
        _walk(data, cstart, cend, depth + 1)
        if tag == 0x30 and data[cstart:cstart + len(_ID_DATA)] == _ID_DATA:
            explicit = cstart + len(_ID_DATA)
            if explicit < cend:
                etag, estart, eend, _ = _element(data, explicit, cend, depth + 1)
                if etag == 0xA0:
                    otag, ostart, oend, _ = _element(data, estart, eend, depth + 1)
                    if otag == 0x04:
                        _walk(data, ostart, oend, depth + 1)


def classify_pfx(data: bytes) -> str:
    """TRUNCATED, CORRUPT or WELL_FORMED for the bytes of a would-be PFX (RFC 7292 section 4)."""
    try:
        tag, start, end, after = _element(data, 0, len(data))
    except _Cut:
        return TRUNCATED
    except _Bad:
        return CORRUPT
    if tag != 0x30:
        return CORRUPT
    if after != len(data):
        return CORRUPT  # bytes after the PFX
    try:
        children = list(_children(data, start, end))
        # PFX ::= SEQUENCE { version INTEGER (v3), authSafe ContentInfo, macData MacData OPTIONAL }
        if len(children) not in (2, 3) or children[0][0] != 0x02 or children[1][0] != 0x30:
            return CORRUPT
        if data[children[0][1]:children[0][2]] != b"\x03":
            return CORRUPT
        if len(children) == 3 and children[2][0] != 0x30:
            return CORRUPT
        _walk(data, start, end)
    except _Cut:
        return CORRUPT  # an inner element overruns its container: damage, not a short file
    except _Bad:
        return CORRUPT
    return WELL_FORMED
