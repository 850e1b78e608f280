"""``engine verify``: check certificate chains against a trust store (and CRLs), in batches.

Each PEM file holds one chain: the leaf first, then its intermediates. A directory stands for
every ``*.pem``/``*.crt`` file in it. The chains go to :func:`engine.verify.verify_chains` in
batches; on a terminal a progress bar on stderr follows batches that take more than a moment.
Exit status: 0 when every chain is valid, 1 when one is not, 2 for a usage error.
"""

from __future__ import annotations

import collections
import json
import sys
import time
from pathlib import Path

from ._common import UsageError

BATCH = 2000
BAR_AFTER_S = 0.5
_SUFFIXES = (".pem", ".crt", ".cer")


def register(commands) -> None:
    parser = commands.add_parser(
        "verify", help="verify certificate chains against a trust store and CRLs",
        description="Verify certificate chains (one PEM file per chain, leaf first) against "
                    "a trust store. Exit 0 if all are valid, 1 if any is not, 2 on usage errors.",
    )
    parser.add_argument("paths", nargs="+", metavar="CERT_OR_DIR",
                        help="a PEM file with a leaf and its chain, or a directory of them")
    parser.add_argument("--trust", required=True, metavar="CA.pem",
                        help="the trusted CA certificates (a PEM bundle, or a directory)")
    parser.add_argument("--crl", action="append", default=[], metavar="CRL.pem",
                        help="a certificate revocation list (PEM or DER); repeatable. With any "
                             "CRL given, every certificate of every path must be covered")
    parser.add_argument("--name", metavar="HOST", help="the DNS name or IP address to check")
    parser.add_argument("--purpose", choices=("server", "client"), default="server")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="worker threads of the native verifier (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    parser.add_argument("--backend", choices=("native", "python"),
                        help="the verifier to use (default: ENGINE_BACKEND, else native if built)")
    parser.set_defaults(handler=run)


def _chain_files(paths) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in _SUFFIXES)
            if not found:
                raise UsageError("no .pem/.crt files in directory %s" % path)
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError("no such file or directory: %s" % path)
    return files


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError("cannot read %s: %s" % (path, exc.strerror or exc)) from None


class _Progress:
    """A one-line bar on stderr, drawn only on a terminal and only once work takes a while."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.enabled = self.stream.isatty()
        self.drawn = False

    def update(self, done: int) -> None:
        if not self.enabled or time.monotonic() - self.started < BAR_AFTER_S:
            return
        width = 30
        filled = width * done // max(self.total, 1)
        self.stream.write("\r[%s%s] %d/%d chains" % ("#" * filled, "." * (width - filled),
                                                    done, self.total))
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def run(args) -> int:
    from ..pki import RevocationList
    from ..verify import verify_chains
    from ..verify.api import usable_name
    from ._tls_options import load_trust

    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.name is not None and not usable_name(args.name):
        raise UsageError("--name %r is not a DNS name or IP address" % args.name)
    trust = load_trust(args.trust)  # a bundle or a directory, as s_client takes it
    crls = []
    for crl in args.crl:
        if not Path(crl).is_file():
            raise UsageError("no such CRL file: %s" % crl)
        crls.append(RevocationList.from_bytes(_read(Path(crl))))
    files = _chain_files(args.paths)
    chains = [_read(path) for path in files]

    verdicts = []
    progress = _Progress(len(chains))
    try:
        for start in range(0, len(chains), BATCH):
            batch = chains[start:start + BATCH]
            names = [args.name] * len(batch) if args.name is not None else None
            verdicts.extend(verify_chains(batch, trust, crls=crls, purpose=args.purpose,
                                          names=names, threads=args.jobs, backend=args.backend))
            progress.update(len(verdicts))
    finally:
        progress.close()

    counts = collections.Counter(v.reason or "ok" for v in verdicts)
    if args.json:
        document = {
            "results": [
                {"path": str(path), "ok": v.ok, "reason": v.reason, "detail": v.detail,
                 "depth": v.depth,
                 "subject": v.chain[0].subject.rfc4514_string() if v.chain else None}
                for path, v in zip(files, verdicts)
            ],
            "summary": dict(sorted(counts.items())),
        }
        print(json.dumps(document, indent=1))
    else:
        for path, verdict in zip(files, verdicts):
            if verdict.ok:
                print("%s: ok" % path)
            else:
                where = "" if verdict.depth is None else " (depth %d)" % verdict.depth
                print("%s: %s%s: %s" % (path, verdict.reason, where, verdict.detail))
        summary = ", ".join("%s %d" % (reason, n) for reason, n in sorted(counts.items()))
        print("%d chain%s: %s" % (len(verdicts), "" if len(verdicts) == 1 else "s", summary))
    return 0 if all(v.ok for v in verdicts) else 1
