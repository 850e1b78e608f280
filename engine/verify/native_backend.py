"""The native verifier: the batch goes to csrc/engine_verify.c in one call.

Kept across calls: one C store (X509_STORE plus CRL tables) per (trust anchors, CRLs) pair,
keyed by their DER contents, and parsed certificate handles keyed by DER, both bounded. The C
side parses what has no handle yet, verifies on worker threads without the GIL, and reports an
OpenSSL error code (or one of the project's codes) and depth per chain; :mod:`.reasons` turns
those into verdict reasons. The C side also remembers, across calls, which signatures it has
verified (keyed by SHA-256 of the certificate and of the issuer's SubjectPublicKeyInfo), so a
chain seen again costs its checks but not its signatures; every other check runs every call.
"""

from __future__ import annotations

import datetime
import ipaddress
import threading

from .. import _backend
from ..errors import CRLError, TrustStoreError
from . import reasons
from .cache import BoundedCache
from .verdict import Verdict, accepted, rejected

DEFAULT_MAX_DEPTH = 8  # cryptography's default, so that both backends agree
HANDLE_CACHE_SIZE = 16384
STORE_CACHE_SIZE = 8
CHAIN_STRIDE = 72  # more than any path the depth limit (at most 64) lets through
MAX_THREADS = 256  # the C side's own limit
_UNKNOWN = -1000000

_handles = BoundedCache(HANDLE_CACHE_SIZE)
_stores = BoundedCache(STORE_CACHE_SIZE)


def available() -> bool:
    try:
        _, lib = _backend.native()
    except Exception:
        return False
    return hasattr(lib, "engine_verify_batch")


def _store(anchors: tuple[bytes, ...], crls: tuple[bytes, ...]):
    """The C store for this pair, built once."""
    key = (anchors, crls)
    found = _stores.get(key)
    if found is not None:
        return found
    ffi, lib = _backend.native()
    blobs = list(anchors) + list(crls)
    buffers = [ffi.from_buffer(b) for b in blobs]
    pointers = ffi.new("const unsigned char *[]", buffers or [ffi.NULL])
    lengths = ffi.new("size_t[]", [len(b) for b in blobs] or [0])
    bad = ffi.new("int *")
    n = len(anchors)
    store = lib.engine_verify_store_new(
        pointers, lengths, n, pointers + n, lengths + n, len(crls), bad
    )
    if store == ffi.NULL:
        if 0 <= bad[0] < n:
            raise TrustStoreError("trust anchor %d cannot be read by libcrypto" % bad[0])
        if bad[0] >= n:
            raise CRLError("CRL %d cannot be read by libcrypto" % (bad[0] - n), reason="malformed")
        raise MemoryError("cannot build the certificate store")
    store = ffi.gc(store, lib.engine_verify_store_free)
    return _stores.put(key, store)


def store_handle(anchors: tuple[bytes, ...], crls: tuple[bytes, ...]):
    """The C store for (anchors, CRLs), for the bench's signature bound."""
    return _store(anchors, crls)


def handles(ders: list[bytes], threads: int = 1):
    """Parsed handles for ``ders`` (None for unreadable ones), from the cache or parsed now."""
    ffi, lib = _backend.native()
    store = _store((), ())
    n = len(ders)
    certs = ffi.new("void *[]", max(n, 1))
    results = ffi.new("engine_verify_result[]", 1)
    out = ffi.new("int[]", 1)
    keep = _fill(ffi, lib, ders, certs, store, threads, results, out)
    del keep
    return [_handles.get(d) for d in ders]


def _fill(ffi, lib, ders, certs, store, threads, results, out):
    """Put cached handles into ``certs``; parse the rest in C (with no chain to verify)."""
    threads = max(1, min(threads, MAX_THREADS))
    keep = []
    missing = []
    for i, der in enumerate(ders):
        handle = _handles.get(der)
        if handle is not None:
            certs[i] = handle
            keep.append(handle)  # alive for the whole call, even if evicted meanwhile
        else:
            missing.append(i)
    if missing:
        pointers = ffi.new("const unsigned char *[]", len(ders))
        lengths = ffi.new("size_t[]", len(ders))
        for i in missing:
            buffer = ffi.from_buffer(ders[i])
            keep.append(buffer)
            pointers[i] = buffer
            lengths[i] = len(ders[i])
        starts = ffi.new("size_t[]", 1)
        rc = lib.engine_verify_batch(
            store, certs, pointers, lengths, len(ders), starts, ffi.NULL, 0, ffi.NULL,
            ffi.NULL, 0, 0, 0, 0, threads, 0, results, out, 1,
        )
        for i in missing:  # owned from here, whatever rc says
            if certs[i] != ffi.NULL:
                handle = ffi.gc(certs[i], lib.engine_verify_cert_free)
                keep.append(handle)
                _handles.put(ders[i], handle)
        if rc != 0:
            raise MemoryError("the native verifier could not parse the certificates")
    return keep


def _name_kind(name: str | None) -> int:
    """0 for no name, 1 for a DNS name, 2 for an IP address."""
    if name is None:
        return 0
    if ":" not in name and not name.replace(".", "").isdigit():
        return 1  # neither IPv6 nor dotted decimal: no need to try parsing
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return 1
    return 2


def _encoded_name(name: str) -> bytes:
    """``name`` for C, which reads it up to its first NUL: a name holding one is refused rather
    than checked as its prefix."""
    encoded = name.encode("utf-8", "surrogateescape")
    if b"\0" in encoded:
        raise ValueError("a name to verify must not contain NUL characters")
    return encoded


def _name_array(ffi, names):
    """A ``const char *[]`` for ``names`` (None entries NULL) and what keeps it alive."""
    encoded = [_encoded_name(n) if n is not None else None for n in names]
    joined = b"\0".join(e or b"" for e in encoded) + b"\0"
    buffer = ffi.from_buffer(joined)
    base = ffi.cast("const char *", buffer)
    pointers, offset = [], 0
    for e in encoded:
        pointers.append(base + offset if e is not None else ffi.NULL)
        offset += len(e or b"") + 1
    return ffi.new("const char *[]", pointers), (joined, buffer)


SMALL_CHAIN = 16
_buffers = threading.local()


def _small(ffi, ders, members, name):
    """The C arrays for a batch of one chain, allocated once per thread and refilled: a
    handshake verifies one chain, and the C call holds no reference past its return."""
    arrays = getattr(_buffers, "arrays", None)
    if arrays is None:
        arrays = _buffers.arrays = (
            ffi.new("void *[]", SMALL_CHAIN), ffi.new("engine_verify_result[]", 1),
            ffi.new("int[]", CHAIN_STRIDE), ffi.new("const char *[]", 1),
            ffi.new("unsigned char[]", 1), ffi.new("size_t[]", 2),
            ffi.new("unsigned int[]", SMALL_CHAIN),
        )
    certs, results, chain_out, c_names, kinds, c_starts, c_members = arrays
    for i in range(len(ders)):
        certs[i] = ffi.NULL
    for i, member in enumerate(members):
        c_members[i] = member
    c_starts[0], c_starts[1] = 0, len(members)
    kinds[0] = _name_kind(name)
    keep_name = None
    if name is None:
        c_names[0] = ffi.NULL
    else:
        keep_name = ffi.new("char[]", _encoded_name(name))
        c_names[0] = keep_name
    return certs, results, chain_out, c_names, kinds, c_starts, c_members, keep_name


def verify(
    chains: list[tuple[bytes, ...]],
    names: list[str | None],
    anchors: tuple[bytes, ...],
    crls: tuple[bytes, ...],
    revocation,
    *,
    at: datetime.datetime,
    purpose: str,
    max_depth: int | None,
    threads: int,
    options: int = 0,
) -> list[Verdict]:
    """One verdict per chain (already in DER), in order. ``options``: the C side's
    ENGINE_VERIFY_OPENSSL_* bits, for the benchmark only."""
    ffi, lib = _backend.native()
    if not chains:
        return []
    if max_depth is not None and max_depth < 0:
        raise ValueError("max_depth must not be negative")
    threads = max(1, min(threads, MAX_THREADS))  # a C int; the C side uses at most 256
    store = _store(anchors, crls)
    index: dict[bytes, int] = {}
    ders: list[bytes] = []
    members: list[int] = []
    starts = [0]
    for chain in chains:
        for der in chain:
            slot = index.get(der)
            if slot is None:
                slot = index[der] = len(ders)
                ders.append(der)
            members.append(slot)
        starts.append(len(members))

    n = len(chains)
    if n == 1 and len(members) <= SMALL_CHAIN:
        certs, results, chain_out, c_names, kinds, c_starts, c_members, keep_names = _small(
            ffi, ders, members, names[0])
    else:
        certs = ffi.new("void *[]", len(ders))
        results = ffi.new("engine_verify_result[]", n)
        chain_out = ffi.new("int[]", n * CHAIN_STRIDE)
        c_names, keep_names = _name_array(ffi, names)
        kinds = ffi.new("unsigned char[]", [_name_kind(name) for name in names])
        c_starts = ffi.new("size_t[]", starts)
        c_members = ffi.new("unsigned int[]", members or [0])
    depth = DEFAULT_MAX_DEPTH if max_depth is None else min(max_depth, 64)
    # Handles first (cached or parsed now, in C), then the verification itself.
    keep = _fill(ffi, lib, ders, certs, store, threads, results, chain_out)
    rc = lib.engine_verify_batch(
        store, certs, ffi.NULL, ffi.NULL, len(ders), c_starts, c_members, n, c_names, kinds,
        int(at.timestamp()), 0 if purpose == "server" else 1, depth, 1 if crls else 0,
        threads, options, results, chain_out, CHAIN_STRIDE,
    )
    del keep, keep_names
    if rc != 0:
        raise MemoryError("the native verifier ran out of memory")

    # Paths stay in DER: a verdict parses its chain only when it is read.
    verdicts = []
    for c in range(n):
        result = results[c]
        entries = ffi.unpack(chain_out + c * CHAIN_STRIDE, result.chain_len)
        built = tuple(
            ders[e] if e >= 0 else anchors[-e - 1] for e in entries if e != _UNKNOWN
        )
        if result.code == 0:
            verdicts.append(accepted(built))
            continue
        if not built and starts[c] < starts[c + 1]:
            built = (ders[members[starts[c]]],)  # the leaf alone
        reason, detail = reasons.from_native(
            lib, result.code, result.depth, result.crl_reason, result.revoked_at
        )
        verdicts.append(rejected(reason, detail, result.depth if result.depth >= 0 else None,
                                 built))
    return verdicts
