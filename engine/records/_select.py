"""Picking the implementation of one Sealer or Opener: the native key or the Python twin."""

from __future__ import annotations

from .. import _backend
from ..errors import BackendError
from ._python import PythonKey, PythonRecordLayer
from ._suites import Suite


def _native_has_records() -> bool:
    try:
        _ffi, lib = _backend.native()
    except BackendError:
        return False
    return hasattr(lib, "engine_record_layer_read")


def choose(backend: str | None) -> str:
    """``"native"`` or ``"python"`` for this object, following engine._backend.resolve().

    An extension built before record protection existed counts as absent: ``auto`` falls back to
    Python and an explicit ``native`` is a BackendError.
    """
    choice = _backend.resolve(backend)
    if choice == "native" and not _native_has_records():
        wanted = backend if backend is not None else _backend.requested()
        if wanted == "native":
            raise BackendError(
                "the native backend was asked for but engine._native has no record protection; "
                "rebuild it (python setup.py build_ext --inplace)"
            )
        choice = "python"
    return choice


def make_key(backend: str, suite: Suite, key: bytes, iv: bytes, encrypt: bool, seq: int = 0):
    """The key object of ``backend`` for one direction (sealing if ``encrypt``)."""
    if backend == "native":
        from ._native import NativeKey

        return NativeKey(suite, key, iv, encrypt, seq)
    return PythonKey(suite, key, iv, encrypt, seq)


_LAYERS: dict = {}  # backend asked for -> the record layer class it gives


def make_record_layer(backend: str | None = None):
    """The record layer of one connection in ``backend`` (None: ENGINE_BACKEND)."""
    layer = _LAYERS.get(backend)
    if layer is None:
        if choose(backend) == "native":
            from ._native import NativeRecordLayer as layer
        else:
            layer = PythonRecordLayer
        if backend is not None:  # ENGINE_BACKEND is read again for each connection
            _LAYERS[backend] = layer
    return layer()
