"""Run the x509-limbo path-validation suite through engine.verify's backends.

    python bench/limbo.py [--backend native|python|both] [--limbo PATH] [--output PATH]
                          [--only SUBSTRING] [--verbose]

Each case becomes one verify_chains call (trust anchors, the peer and its intermediates, the
CRLs, the validation time, the expected peer name, the purpose from the validation kind, the
depth limit). Results are written in limbo's harness format (default
./limbo-results-<backend>.json) and a line per backend gives the cases that agree with the
expected result, disagree, and were skipped, with the slowest case. Cases whose requirements the
API cannot express are skipped with the reason.

Importable: :func:`load_cases`, :func:`skip_reason`, :func:`run`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LIMBO = ROOT.parent / "shared" / "limbo" / "limbo.json.gz"

_PURPOSE_EKU = {"SERVER": "serverAuth", "CLIENT": "clientAuth"}


def load_cases(path: Path | str = DEFAULT_LIMBO) -> list[dict]:
    """The suite's test cases (a gzip'd or plain JSON file)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["testcases"]


def skip_reason(case: dict) -> str | None:
    """Why verify_chains cannot run ``case`` as specified, or None."""
    name = case.get("expected_peer_name")
    if name and name.get("kind") not in ("DNS", "IP"):
        return "feature: %s peer names (verify_chains checks DNS names and IP addresses)" % (
            name.get("kind"))
    if case.get("key_usage"):
        return "feature: a required leaf keyUsage (%s) is not part of the API" % (
            ", ".join(case["key_usage"]))
    wanted = case.get("extended_key_usage") or []
    purpose_eku = _PURPOSE_EKU.get(case.get("validation_kind"))
    if purpose_eku is None:
        return "feature: validation kind %r" % case.get("validation_kind")
    if any(eku != purpose_eku for eku in wanted):
        return "feature: required EKUs %s beyond the purpose's %s" % (wanted, purpose_eku)
    if case.get("signature_algorithms"):
        return "feature: a restricted set of signature algorithms is not part of the API"
    return None


def _arguments(case: dict) -> dict:
    chain = [case["peer_certificate"]] + list(case.get("untrusted_intermediates") or [])
    name = case.get("expected_peer_name")
    at = case.get("validation_time")
    when = datetime.datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None
    return dict(
        chains=[[pem.encode() for pem in chain]],
        trust=[pem.encode() for pem in case.get("trusted_certs") or []],
        crls=[pem.encode() for pem in case.get("crls") or []],
        at=when,
        purpose="server" if case["validation_kind"] == "SERVER" else "client",
        names=[name["value"] if name else None],
        max_depth=case.get("max_chain_depth"),
    )


@dataclasses.dataclass
class Report:
    backend: str
    agree: int = 0
    disagree: int = 0
    skipped: int = 0
    slowest_s: float = 0.0
    slowest_id: str | None = None
    results: list = dataclasses.field(default_factory=list)
    disagreements: list = dataclasses.field(default_factory=list)  # (id, expected, actual, why)
    verdicts: dict = dataclasses.field(default_factory=dict)  # id -> (actual, reason)

    @property
    def ran(self) -> int:
        return self.agree + self.disagree

    @property
    def agreement(self) -> float:
        return self.agree / self.ran if self.ran else 0.0

    def line(self) -> str:
        return ("%s: %d agree, %d disagree, %d skipped (%.2f%% of %d run); slowest case %.3f s "
                "(%s)" % (self.backend, self.agree, self.disagree, self.skipped,
                          100 * self.agreement, self.ran, self.slowest_s, self.slowest_id))


def run(backend: str, cases: list[dict]) -> Report:
    """Run every case through ``backend``; time each one."""
    from engine.errors import EngineError
    from engine.verify import verify_chains

    report = Report(backend)
    for case in cases:
        reason = skip_reason(case)
        if reason is not None:
            report.skipped += 1
            report.results.append({"id": case["id"], "actual_result": "SKIPPED",
                                   "context": reason})
            continue
        started = time.perf_counter()
        try:
            verdict = verify_chains(backend=backend, **_arguments(case))[0]
            actual = "SUCCESS" if verdict.ok else "FAILURE"
            context = "ok" if verdict.ok else "%s: %s" % (verdict.reason, verdict.detail)
            why = verdict.reason
        except EngineError as exc:
            actual, context, why = "FAILURE", "refused: %s" % exc, "error"
        elapsed = time.perf_counter() - started
        if elapsed > report.slowest_s:
            report.slowest_s, report.slowest_id = elapsed, case["id"]
        report.results.append({"id": case["id"], "actual_result": actual, "context": context})
        report.verdicts[case["id"]] = (actual, why)
        if actual == case["expected_result"]:
            report.agree += 1
        else:
            report.disagree += 1
            report.disagreements.append((case["id"], case["expected_result"], actual, context))
    return report


def write_results(report: Report, path: Path) -> None:
    """The harness file, written atomically."""
    document = {"version": 1, "harness": "engine-verify-%s" % report.backend,
                "results": report.results}
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=".limbo-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("native", "python", "both"), default="both")
    parser.add_argument("--limbo", default=str(DEFAULT_LIMBO), help="limbo.json(.gz)")
    parser.add_argument("--output", help="results path (one backend), or a folder (both)")
    parser.add_argument("--only", help="run only the cases whose id contains this")
    parser.add_argument("--verbose", action="store_true", help="list the disagreements")
    args = parser.parse_args(argv)
    if not Path(args.limbo).exists():
        print("limbo suite not found at %s" % args.limbo, file=sys.stderr)
        return 2
    cases = load_cases(args.limbo)
    if args.only:
        cases = [c for c in cases if args.only in c["id"]]
    backends = ("native", "python") if args.backend == "both" else (args.backend,)
    reports = {}
    for backend in backends:
        report = run(backend, cases)
        reports[backend] = report
        if args.output and (len(backends) == 1 and not Path(args.output).is_dir()):
            target = Path(args.output)
        else:
            folder = Path(args.output) if args.output else Path(".")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / ("limbo-results-%s.json" % backend)
        write_results(report, target)
        print(report.line())
        if args.verbose:
            for item in report.disagreements:
                print("  %s: expected %s, got %s (%s)" % (item[0], item[1], item[2],
                                                         item[3][:160]))
    if len(reports) == 2:
        a, b = reports["native"].verdicts, reports["python"].verdicts
        differ = sorted(k for k in a if k in b and a[k][0] != b[k][0])
        print("backends differ on %d cases" % len(differ))
        if args.verbose:
            for key in differ:
                print("  %s: native %s, python %s" % (key, a[key], b[key]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
