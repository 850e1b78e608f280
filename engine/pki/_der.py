"""Just enough DER (ITU-T X.690) to tell a damaged PKCS#12 file from a wrong password.

Reading never decides whether a file is accepted (pyca/cryptography does that); these functions
only explain, after a load failed, whether the bytes were cut short, malformed, or well formed
(in which case the integrity check failed: the password is wrong).
"""

from __future__ import annotations

TRUNCATED = "truncated"
CORRUPT = "corrupt"
WELL_FORMED = "well-formed"

# The DER encoding of the id-data content type, 1.2.840.113549.1.7.1 (RFC 2315 section 14).
_ID_DATA = bytes.fromhex("06092a864886f70d010701")


class _Cut(Exception):
    """An element runs past the end of the bytes."""


class _Bad(Exception):
    """An element cannot be DER."""


def _header(data: bytes, offset: int, end: int):
    """(tag, content start, content end) of the element at ``offset``."""
    if offset + 2 > end:
        raise _Cut()
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise _Bad()  # high tag numbers do not occur in PKCS#12
    first = data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise _Bad()  # indefinite length: BER, not DER
    else:
        count = first & 0x7F
        if count > 4:
            raise _Bad()
        if start + count > end:
            raise _Cut()
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    if start + length > end:
        raise _Cut()
    return tag, start, start + length


def _children(data: bytes, start: int, end: int):
    offset = start
    while offset < end:
        tag, cstart, cend = _header(data, offset, end)
        yield tag, offset, cstart, cend
        offset = cend


def _walk(data: bytes, start: int, end: int) -> None:
    """Check every element in data[start:end], descending into constructed ones and into the
    content of each id-data ContentInfo."""
    for tag, offset, cstart, cend in _children(data, start, end):
        if not tag & 0x20:
            continue
        _walk(data, cstart, cend)
        if tag == 0x30 and data[cstart:cstart + len(_ID_DATA)] == _ID_DATA:
            explicit = cstart + len(_ID_DATA)
            if explicit < cend:
                etag, estart, eend = _header(data, explicit, cend)
                if etag == 0xA0:
                    otag, ostart, oend = _header(data, estart, eend)
                    if otag == 0x04:
                        _walk(data, ostart, oend)


def classify_pfx(data: bytes) -> str:
    """TRUNCATED, CORRUPT or WELL_FORMED for the bytes of a would-be PFX (RFC 7292 section 4)."""
    try:
        tag, start, end = _header(data, 0, len(data))
    except _Cut:
        return TRUNCATED
    except _Bad:
        return CORRUPT
    if tag != 0x30:
        return CORRUPT
    if end != len(data):
        return CORRUPT  # bytes after the PFX
    try:
        children = list(_children(data, start, end))
        # PFX ::= SEQUENCE { version INTEGER (v3), authSafe ContentInfo, macData MacData OPTIONAL }
        if len(children) not in (2, 3) or children[0][0] != 0x02 or children[1][0] != 0x30:
            return CORRUPT
        if data[children[0][2]:children[0][3]] != b"\x03":
            return CORRUPT
        if len(children) == 3 and children[2][0] != 0x30:
            return CORRUPT
        _walk(data, start, end)
    except (_Cut, _Bad):
        return CORRUPT
    return WELL_FORMED
