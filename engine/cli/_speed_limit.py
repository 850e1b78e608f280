"""The one-call limit of ``engine speed``: one AEAD call over a whole buffer, no records, through
the libcrypto the extension links (``engine_aead_oneshot`` of csrc/engine_records_kernels.c).

It reuses one nonce for every call by design (it measures, it protects nothing), so it is
reached from here only, never from the library.
"""

from __future__ import annotations

from ..records._suites import suite_named


class OneCall:
    """One direction's AEAD context in the extension, called on a whole buffer at a time."""

    def __init__(self, suite: str, key: bytes, iv: bytes, encrypt: bool):
        from .. import _backend
        from ..errors import BackendError

        self._ffi, self._lib = ffi, lib = _backend.native()
        raw = lib.engine_record_key_new(suite_named(suite).code, lib.ENGINE_RECORD_TLS13,
                                        key, len(key), iv, len(iv), 1 if encrypt else 0, 0, 0)
        if raw == ffi.NULL:
            raise BackendError("libcrypto could not set up %s" % suite)
        self._handle = ffi.gc(raw, lib.engine_record_key_free)
        self._written = ffi.new("size_t *")

    def into(self, out, data) -> int:
        """Seal ``data`` into ``out`` (ciphertext and tag), or open it (the plaintext)."""
        ffi, lib = self._ffi, self._lib
        with ffi.from_buffer(data) as data_ptr, \
                ffi.from_buffer(out, require_writable=True) as out_ptr:
            rc = lib.engine_aead_oneshot(self._handle, data_ptr, len(data_ptr), out_ptr,
                                         len(out_ptr), self._written)
        if rc != lib.ENGINE_RECORDS_OK:
            raise RuntimeError("the one-call AEAD failed (code %d)" % rc)
        return self._written[0]


def limit(suite: str, key: bytes, iv: bytes, data: bytes, direction: str):
    """A callable doing one AEAD call over all of ``data`` in ``direction``."""
    sealing = OneCall(suite, key, iv, encrypt=True)
    sealed = bytearray(len(data) + 16)
    sealing.into(sealed, data)
    if direction == "seal":
        return lambda: sealing.into(sealed, data)
    opening = OneCall(suite, key, iv, encrypt=False)
    out = bytearray(len(data))
    return lambda: opening.into(out, sealed)
