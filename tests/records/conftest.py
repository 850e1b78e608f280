"""Fixtures for the record-protection tests: each backend-aware test runs once per backend."""

from __future__ import annotations

import pytest

from engine._backend import native_records

NATIVE = native_records()
NATIVE_MISSING = "the native extension with record protection is not built (python setup.py build_ext --inplace)"


@pytest.fixture(params=["python", "native"])
def backend(request):
    """Each backend in turn; the native one is skipped, saying why, when it is not built."""
    if request.param == "native" and not NATIVE:
        pytest.skip(NATIVE_MISSING)
    return request.param
