"""The one place that picks between the native extension and the pure-Python fallback.

``ENGINE_BACKEND`` is ``auto`` (the default: native when the extension imports, else Python),
``native`` (the extension or a clear error, never a silent fallback) or ``python``. Objects that
take a ``backend=`` argument pass it to :func:`resolve`, so both implementations can run side by
side in one process; ``None`` follows the environment variable, read on every call.

Each area asks here for its implementation, never imports one itself: the record protection
(:func:`record_backend`, :func:`record_key`, :func:`record_layer`, whose objects follow
engine.records._interface), the key schedule (:func:`key_schedule_kernels`) and the batch
verifier (:func:`verifier`, following engine.verify._interface).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import TYPE_CHECKING, Callable

from .errors import BackendError

if TYPE_CHECKING:
    import types

    import cffi

    from ._native import _Lib
    from .records._interface import RecordKey, RecordLayerCore
    from .records._suites import Suite
    from .verify._interface import VerifierBackend

BACKENDS = ("native", "python")
_CHOICES = ("auto",) + BACKENDS

_native: types.ModuleType | None = None  # the imported engine._native module, once loaded
_native_error: str | None = None  # why it could not be imported, once tried


def _load_native():
    """Import the extension once; remember the module or the reason it failed."""
    global _native, _native_error
    if _native is None and _native_error is None:
        try:
            from . import _native as module
        except ImportError as exc:
            if "_native" in str(exc) and "cannot import name" in str(exc):
                _native_error = (
                    "engine._native is not installed: the package was built without its C "
                    "extension (%s)" % _build_cause())
            else:
                _native_error = "%s: %s" % (type(exc).__name__, exc)
        else:
            _native = module
    return _native


def _build_cause() -> str:
    """Why the build left the extension out, as setup.py recorded it in the package."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native_missing.txt")
    try:
        with open(path, encoding="utf-8") as fh:
            cause = fh.read().strip()
    except OSError:
        cause = ""
    return cause or "no C compiler or OpenSSL 3 headers when it was installed"


class BackendWarning(RuntimeWarning):
    """ENGINE_BACKEND=auto found no native extension and fell back to the Python backend."""


_warned = False


def _fell_back() -> None:
    """Warn once per process that ``auto`` runs the slower Python backend, and why."""
    global _warned
    if not _warned:
        _warned = True
        warnings.warn("engine runs its pure-Python backend: %s. Set ENGINE_BACKEND=python to "
                      "choose it (and silence this)." % _native_error, BackendWarning,
                      stacklevel=3)


def requested() -> str:
    """The value of ENGINE_BACKEND, checked."""
    value = os.environ.get("ENGINE_BACKEND", "auto").strip().lower() or "auto"
    if value not in _CHOICES:
        raise BackendError(
            "ENGINE_BACKEND=%r is not one of %s" % (value, ", ".join(_CHOICES))
        )
    return value


def resolve(backend: str | None = None) -> str:
    """Return ``"native"`` or ``"python"`` for an explicit choice or, if None, the environment."""
    choice = requested() if backend is None else backend
    if choice not in _CHOICES:
        raise BackendError("backend %r is not one of %s" % (choice, ", ".join(_CHOICES)))
    if choice == "python":
        return "python"
    if _load_native() is not None:
        return "native"
    if choice == "native":
        raise BackendError(
            "the native backend was asked for but engine._native is not available (%s); "
            "rebuild with a C compiler and OpenSSL 3 headers" % _native_error
        )
    _fell_back()
    return "python"


def native() -> tuple[cffi.FFI, _Lib]:
    """The extension's ``(ffi, lib)`` (typed by engine/_native.pyi); raises BackendError naming
    the reason if it is missing."""
    module = _load_native()
    if module is None:
        raise BackendError("engine._native is not available (%s)" % _native_error)
    return module.ffi, module.lib


@dataclasses.dataclass(frozen=True)
class BackendInfo:
    """What :func:`engine.backend_info` reports."""

    active: str
    requested: str
    native_available: bool
    reason: str | None
    libcrypto_built: str | None
    libcrypto_runtime: str | None

    def __str__(self) -> str:
        lines = ["active backend: %s (ENGINE_BACKEND=%s)" % (self.active, self.requested)]
        if self.reason:
            lines.append("native backend not active: %s" % self.reason)
        if self.libcrypto_built:
            lines.append("native extension built against: %s" % self.libcrypto_built)
            lines.append("native extension running with: %s" % self.libcrypto_runtime)
        return "\n".join(lines)


def info() -> BackendInfo:
    """Which backend is active and, when it is not the native one, why."""
    wanted = requested()
    module = _load_native()
    built = runtime = None
    if module is not None:
        ffi, lib = module.ffi, module.lib
        built = ffi.string(lib.engine_libcrypto_built_text()).decode()
        runtime = ffi.string(lib.engine_libcrypto_runtime_text()).decode()
    reason: str | None
    if wanted == "python":
        reason = "ENGINE_BACKEND=python"
        active = "python"
    elif module is None:
        reason = _native_error
        active = "python" if wanted == "auto" else "unavailable"
    else:
        reason = None
        active = "native"
    return BackendInfo(active, wanted, module is not None, reason, built, runtime)


# --- the areas' implementations ---------------------------------------------------------------

# A function of each area's C interface: an extension built before the area existed lacks it.
_RECORDS_ENTRY = "engine_record_layer_read"
_KEY_SCHEDULE_ENTRY = "engine_ks_handshake"
_VERIFY_ENTRY = "engine_verify_batch"


def _native_has(function: str) -> bool:
    """Whether the extension loads and has ``function`` (one built before it has not)."""
    module = _load_native()
    return module is not None and hasattr(module.lib, function)


def _native_of_area(backend: str | None, function: str, area: str) -> bool:
    """True for the native implementation of an area whose entry point is ``function``.

    An extension built before the area existed counts as absent: ``auto`` falls back to Python
    and an explicit ``native`` is a BackendError.
    """
    if resolve(backend) == "python":
        return False
    if _native_has(function):
        return True
    wanted = backend if backend is not None else requested()
    if wanted == "native":
        raise BackendError(
            "the native backend was asked for but engine._native has no %s; rebuild it "
            "(python setup.py build_ext --inplace)" % area
        )
    return False


def record_backend(backend: str | None = None) -> str:
    """``"native"`` or ``"python"`` for record protection (None: ENGINE_BACKEND)."""
    if _native_of_area(backend, _RECORDS_ENTRY, "record protection"):
        return "native"
    return "python"


def native_records() -> bool:
    """Whether the native record protection can be used in this process."""
    return _native_has(_RECORDS_ENTRY)


def record_key(backend: str, suite: Suite, key: bytes, iv: bytes, encrypt: bool,
               seq: int = 0) -> RecordKey:
    """The key object (a RecordKey) of ``backend`` for one direction, sealing if ``encrypt``."""
    if backend == "native":
        from .records._native import NativeKey

        return NativeKey(suite, key, iv, encrypt, seq)
    from .records._python import PythonKey

    return PythonKey(suite, key, iv, encrypt, seq)


# backend asked for -> the record layer class it gives
_RECORD_LAYERS: dict[str | None, Callable[[], RecordLayerCore]] = {}


def record_layer(backend: str | None = None) -> RecordLayerCore:
    """A new record layer of one connection (a RecordLayerCore) in ``backend``."""
    layer = _RECORD_LAYERS.get(backend)
    if layer is None:
        if record_backend(backend) == "native":
            from .records._native import NativeRecordLayer

            layer = NativeRecordLayer
        else:
            from .records._python import PythonRecordLayer

            layer = PythonRecordLayer
        if backend is not None:  # ENGINE_BACKEND is read again for each connection
            _RECORD_LAYERS[backend] = layer
    return layer()


_KERNELS: dict = {}  # backend, asked for or resolved -> its key schedule kernels


def key_schedule_kernels(backend: str | None = None):
    """The key schedule kernels (RFC 8446 section 7.1) of ``backend`` (None: ENGINE_BACKEND)."""
    found = _KERNELS.get(backend) if backend is not None else None
    if found is not None:  # a backend already resolved, as connections keep it
        return found
    choice = resolve(backend)
    found = _KERNELS.get(choice)
    if found is None:
        from .tls import key_schedule

        if choice == "native" and _native_has(_KEY_SCHEDULE_ENTRY):
            found = key_schedule.NativeKernels()
        else:
            found = key_schedule.PythonKernels()
        _KERNELS[choice] = found
    return found


def native_verifier() -> bool:
    """Whether the native batch verifier can be used in this process."""
    return _native_has(_VERIFY_ENTRY)


def verifier(backend: str | None = None) -> VerifierBackend:
    """The batch verifier (a VerifierBackend module) of ``backend`` (None: ENGINE_BACKEND)."""
    if _native_of_area(backend, _VERIFY_ENTRY, "batch verifier"):
        from .verify import _native

        return _native
    from .verify import _python

    return _python
