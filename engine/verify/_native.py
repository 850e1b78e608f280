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
import functools
import itertools

from .. import _backend
from ..errors import CRLError, TrustStoreError
from . import reasons
from .cache import BoundedCache
from .revocation import RevocationIndex
from .verdict import Verdict, accepted, deferred

NAME = "native"
DEFAULT_MAX_DEPTH = 8  # cryptography's default, so that both backends agree
HANDLE_CACHE_SIZE = 16384
STORE_CACHE_SIZE = 8
MAX_THREADS = 256  # the C side's own limit

_handles = BoundedCache(HANDLE_CACHE_SIZE)
_stores = BoundedCache(STORE_CACHE_SIZE)


@functools.lru_cache(maxsize=None)
def _codes() -> reasons.NativeCodes:
    """The extension's result codes (csrc/engine_verify.h), read once."""
    return reasons.NativeCodes(*_backend.native())


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


def prepare(anchors: tuple[bytes, ...], crls: tuple[bytes, ...]):
    """The C store for (anchors, CRLs), built once (also the bench's signature bound's)."""
    return _store(anchors, crls)


def handles(ders: list[bytes], threads: int = 1):
    """Parsed handles for ``ders`` (None for unreadable ones), from the cache or parsed now."""
    ffi, lib = _backend.native()
    store = _store((), ())
    certs, keep = _certificates(ffi, lib, list(ders))
    arguments = _chains_struct(ffi, certs, keep, len(ders), [0], [], None)
    params = ffi.new("engine_verify_params *", {"threads": max(1, min(threads, MAX_THREADS)),
                                                "max_depth": DEFAULT_MAX_DEPTH})
    rc = lib.engine_verify_batch(store, arguments, params, ffi.NULL, ffi.NULL, 0)
    _keep_parsed(ffi, lib, ders, certs, keep)
    if rc != 0:
        raise MemoryError("the native verifier could not parse the certificates")
    return [_handles.get(d) for d in ders]


def _certificates(ffi, lib, ders: list[bytes]):
    """The ``void *[]`` of handles for ``ders`` (cached ones filled in, NULL for the rest) and
    what the call must keep alive: the cached handles (alive for the whole call even if
    evicted meanwhile), and the DER of the others back to back with their offsets."""
    found = _handles.get_many(ders)
    missing = [i for i, handle in enumerate(found) if handle is None]
    NULL = ffi.NULL
    certs = ffi.new("void *[]", [NULL if h is None else h for h in found] or [NULL])
    keep: dict[str, object] = {"handles": found, "missing": missing, "der": None,
                               "offsets": None}
    if missing:
        sizes = [0] * len(ders)
        for i in missing:
            sizes[i] = len(ders[i])
        blob = b"".join([ders[i] for i in missing])
        keep["der"] = blob
        keep["offsets"] = ffi.new("size_t[]", list(itertools.accumulate(sizes, initial=0)))
    return certs, keep


def _keep_parsed(ffi, lib, ders, certs, keep) -> None:
    """Hand the handles the call parsed to the garbage collector and the cache (owned from
    here, whatever the call returned)."""
    parsed = []
    for i in keep["missing"]:
        handle = certs[i]
        if handle != ffi.NULL:
            parsed.append((ders[i], ffi.gc(handle, lib.engine_verify_cert_free)))
    _handles.put_many(parsed)


def _chains_struct(ffi, certs, keep, n_certs, starts, members, names):
    """The ``engine_verify_chains`` for C; ``keep`` gains every buffer it points into."""
    der = keep["der"]
    fields = {"certs": certs, "n_certs": n_certs, "n_chains": len(starts) - 1}
    if der is not None:
        buffer = ffi.from_buffer(der)
        keep["der_buffer"] = buffer
        fields.update(der=buffer, der_offsets=keep["offsets"], der_len=len(der))
    c_starts = ffi.new("size_t[]", starts)
    c_members = ffi.new("unsigned int[]", members or [0])
    keep["starts"], keep["members"] = c_starts, c_members
    fields.update(starts=c_starts, members=c_members)
    if names is not None and any(name is not None for name in names):
        text, unnamed = _name_block(names)
        keep["names"] = (ffi.from_buffer(text), ffi.from_buffer(unnamed), text, unnamed)
        fields.update(names=ffi.cast("const char *", keep["names"][0]), names_len=len(text),
                      unnamed=ffi.cast("const unsigned char *", keep["names"][1]))
    return ffi.new("engine_verify_chains *", fields)


def _name_block(names) -> tuple[bytes, bytes]:
    """The names back to back, each NUL-terminated (None as an empty entry), and one byte per
    chain saying which have no name. C reads a name up to its first NUL: a name holding one
    is refused rather than checked as its prefix."""
    text = "\0".join([name if name is not None else "" for name in names])
    encoded = text.encode("utf-8", "surrogateescape") + b"\0"
    if encoded.count(b"\0") != len(names):
        raise ValueError("a name to verify must not contain NUL characters")
    return encoded, bytes([name is None for name in names])


class NativeOutcome:
    """The results of one native batch, from which each verdict's detail and path are read
    when first asked for (a batch whose details are never read does not format them)."""

    __slots__ = ("ders", "anchors", "results", "paths", "starts", "members", "names")

    def __init__(self, ders, anchors, results, paths, starts, members, names):
        self.ders = ders
        self.anchors = anchors
        self.results = results
        self.paths = paths
        self.starts = starts
        self.members = members
        self.names = names

    def path(self, c: int) -> tuple[bytes, ...]:
        """Chain ``c``'s built path as DER; for a failure without one, its leaf alone."""
        ffi, _ = _backend.native()
        codes = _codes()
        result = self.results[c]
        entries = ffi.unpack(self.paths + self.starts[c] + c, result.chain_len)
        ders, anchors = self.ders, self.anchors
        built = tuple(ders[e] if e >= 0 else anchors[-e - 1] for e in entries
                      if e != codes.path_unknown)
        if not built and result.code not in (0, codes.unusable_name) \
                and self.starts[c] < self.starts[c + 1]:
            built = (ders[self.members[self.starts[c]]],)  # the leaf alone
        return built

    def detail(self, c: int) -> str:
        result = self.results[c]
        if result.code == 0:
            return accepted(()).detail
        codes = _codes()
        if result.code == codes.unusable_name:
            return "%r is not a usable DNS name or IP address" % (self.names[c],)
        return codes.explain(result.code, result.depth, result.crl_reason,
                             result.revoked_at)[1]


def verify(chains, names, anchors: tuple[bytes, ...], crls: tuple[bytes, ...],
           revocation: RevocationIndex | None, *, at: datetime.datetime, purpose: str,
           max_depth: int | None, threads: int = 1, options: int = 0,
           flat: list[bytes] | None = None) -> list[Verdict]:
    """One verdict per chain (each a sequence of DER blobs, leaf first), in order; see
    engine.verify._interface.

    The work per chain in Python is a handful of whole-list operations (flattening, one
    dictionary of distinct certificates, the handle cache looked up in bulk); names are
    checked, and certificates parsed and verified, in C."""
    ffi, lib = _backend.native()
    n = len(chains)
    if not n:
        return []
    if max_depth is not None and max_depth < 0:
        raise ValueError("max_depth must not be negative")
    threads = max(1, min(threads, MAX_THREADS))  # a C int; the C side uses at most 256
    store = _store(anchors, crls)
    if flat is None:  # the caller's, when it has flattened the chains already
        flat = list(itertools.chain.from_iterable(chains))
    starts = list(itertools.accumulate(map(len, chains), initial=0))
    distinct = dict.fromkeys(flat)
    ders = list(distinct)
    if len(ders) == len(flat):
        members = list(range(len(flat)))
    else:
        index = dict(zip(ders, itertools.count()))
        members = list(map(index.__getitem__, flat))
    if names is not None and len(names) != n:
        raise ValueError("names has %d entries for %d chains" % (len(names), n))

    certs, keep = _certificates(ffi, lib, ders)
    arguments = _chains_struct(ffi, certs, keep, len(ders), starts, members, names)
    params = ffi.new("engine_verify_params *", {
        "at": int(at.timestamp()), "purpose": 0 if purpose == "server" else 1,
        "max_depth": DEFAULT_MAX_DEPTH if max_depth is None else min(max_depth, 64),
        "check_crls": 1 if crls else 0, "threads": threads, "options": options})
    results = ffi.new("engine_verify_result[]", n)
    paths_len = starts[-1] + n
    paths = ffi.new("int[]", paths_len)
    rc = lib.engine_verify_batch(store, arguments, params, results, paths, paths_len)
    _keep_parsed(ffi, lib, ders, certs, keep)
    del keep
    if rc != 0:
        raise MemoryError("the native verifier ran out of memory")

    outcome = NativeOutcome(ders, anchors, results, paths, starts, members, names)
    ints = memoryview(ffi.buffer(results)).cast("i")
    step = ffi.sizeof("engine_verify_result") // ints.itemsize
    codes = ints[0::step].tolist()
    depths = ints[1::step].tolist()
    return list(map(deferred, itertools.repeat(outcome), range(n),
                    map(_codes().reason_by_code.get, codes, itertools.repeat("unsupported")),
                    depths))
