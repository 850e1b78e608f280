"""The one place that picks between the native extension and the pure-Python fallback.

``ENGINE_BACKEND`` is ``auto`` (the default: native when the extension imports, else Python),
``native`` (the extension or a clear error, never a silent fallback) or ``python``. Objects that
take a ``backend=`` argument pass it to :func:`resolve`, so both implementations can run side by
side in one process; ``None`` follows the environment variable, read on every call.
"""

from __future__ import annotations

import dataclasses
import os
import warnings

from .errors import BackendError

BACKENDS = ("native", "python")
_CHOICES = ("auto",) + BACKENDS

_native = None  # the imported engine._native module, once loaded
_native_error: str | None = None  # why it could not be imported, once tried


def _load_native():
    """Import the extension once; remember the module or the reason it failed."""
    global _native, _native_error
    if _native is None and _native_error is None:
        try:
            from . import _native as module  # type: ignore[attr-defined]
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


def native():
    """The extension's ``(ffi, lib)``; raises BackendError naming the reason if it is missing."""
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
