"""The implementations this build of engine can run (see engine._backend)."""

from __future__ import annotations

from engine import _backend

NATIVE_MISSING = ("the native extension is not built, or predates this code "
                  "(python setup.py build_ext --inplace)")
# The native record protection and batch verifier, whatever ENGINE_BACKEND says.
NATIVE = _backend.native_records() and _backend.native_verifier()
# The verifiers to compare: the Python twin, and the native batch where it runs.
VERIFY_BACKENDS = ["python"] + (["native"] if _backend.native_verifier() else [])
