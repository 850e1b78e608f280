"""Every backend gives the expected verdict on every case of the corpus, and the same one."""

from __future__ import annotations

import pytest

from engine.verify import verify_chains
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.verify_corpus import NOW, all_cases

CASES = all_cases()


def _verdict(case, backend):
    return verify_chains(
        [case.chain], case.trust, crls=case.crls, at=NOW, purpose=case.purpose,
        names=[case.name], max_depth=case.max_depth, backend=backend,
    )[0]


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_expected_verdict(case, backend):
    verdict = _verdict(case, backend)
    assert (verdict.reason, verdict.ok) == (case.expected, case.expected is None), verdict.detail
    if case.depth is not None:
        assert verdict.depth == case.depth, verdict.detail


@pytest.mark.skipif(len(VERIFY_BACKENDS) < 2,
                    reason="the native extension with its verifier is not built")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_backends_agree(case):
    python, native = (_verdict(case, b) for b in ("python", "native"))
    assert (native.reason, native.depth) == (python.reason, python.depth), (
        native.detail, python.detail)
