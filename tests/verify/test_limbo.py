"""The x509-limbo suite through both backends (slow): the agreement goals of engine.verify.

Needs the suite at ../shared/limbo/limbo.json.gz beside the repository; skipped without it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests._support.backends import VERIFY_BACKENDS

REPO = Path(__file__).resolve().parents[2]
LIMBO = REPO.parent / "shared" / "limbo" / "limbo.json.gz"
GOALS = {"python": 0.998, "native": 0.995}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LIMBO.exists(),
                       reason="x509-limbo suite not found at %s" % LIMBO),
]


def _runner():
    spec = importlib.util.spec_from_file_location("engine_bench_limbo", REPO / "bench" / "limbo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def limbo():
    runner = _runner()
    return runner, runner.load_cases(LIMBO)


@pytest.fixture(scope="module")
def reports(limbo):
    runner, cases = limbo
    return {backend: runner.run(backend, cases) for backend in VERIFY_BACKENDS}


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_agreement_with_the_expected_results_meets_the_goal(reports, backend):
    report = reports[backend]
    assert report.agreement >= GOALS[backend], report.line() + "\n" + "\n".join(
        "%s: expected %s, got %s" % item[:3] for item in report.disagreements)


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_every_revocation_case_is_right(limbo, reports, backend):
    _, cases = limbo
    crl_cases = [c for c in cases if "has-crl" in (c.get("features") or [])]
    assert len(crl_cases) == 8
    verdicts = reports[backend].verdicts
    assert {c["id"]: verdicts[c["id"]][0] for c in crl_cases} == {
        c["id"]: c["expected_result"] for c in crl_cases}


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_every_skip_names_the_feature_it_lacks(reports, backend):
    skipped = [r for r in reports[backend].results if r["actual_result"] == "SKIPPED"]
    assert all(r["context"].startswith("feature:") for r in skipped), skipped


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_no_case_takes_a_second(reports, backend):
    report = reports[backend]
    assert report.slowest_s < 1.0, report.line()


def test_the_harness_file_has_limbo_s_format(limbo, reports, tmp_path):
    runner, _ = limbo
    report = reports["python"]
    target = tmp_path / "results.json"
    runner.write_results(report, target)
    document = json.loads(target.read_text())
    assert document["version"] == 1 and document["harness"] == "engine-verify-python"
    assert {r["actual_result"] for r in document["results"]} <= {"SUCCESS", "FAILURE", "SKIPPED"}
    assert len(document["results"]) == report.ran + report.skipped
