"""``engine verify``: check certificate chains against a trust store (and CRLs), in batches.

Each PEM file holds one chain: the leaf first, then its intermediates. A directory stands for
every ``*.pem``/``*.crt`` file in it. A ``*.jsonl`` file holds one chain per line, base64 DER
with an optional name (:mod:`engine.verify.sources`). The chains are streamed through
:func:`engine.verify.stream.iter_verify_records` (bounded memory whatever the input's size) or,
with ``--dask [SCHEDULER]``, spread over a Dask cluster (:mod:`engine.verify.dask`): a local
one, one worker process per core, when no scheduler address is given. On a terminal a progress
bar (tqdm's) on stderr follows work that takes more than a moment. ``--output FILE`` writes one JSON
line per chain. Exit status: 0 when every chain is valid, 1 when one is not, 2 for a usage
error (a scheduler that cannot be reached included).
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

from .._progress import progress_bar, write_line
from ._common import UsageError

BATCH = 2000
BAR_AFTER_S = 0.5
LOCAL = "local"
_SUFFIXES = (".pem", ".crt", ".cer")


def register(commands) -> None:
    parser = commands.add_parser(
        "verify", help="verify certificate chains against a trust store and CRLs",
        description="Verify certificate chains (one PEM file per chain, leaf first) against "
                    "a trust store. Exit 0 if all are valid, 1 if any is not, 2 on usage errors.",
    )
    parser.add_argument("paths", nargs="+", metavar="CERT_OR_DIR",
                        help="a PEM file with a leaf and its chain, a directory of them, or a "
                             "JSON Lines file (*.jsonl) of base64 DER chains, one per line, "
                             "each optionally with its own name")
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
    parser.add_argument("--output", metavar="FILE.jsonl",
                        help="write one JSON line per chain (source, line, name, ok, reason, "
                             "detail, depth) to FILE instead of printing a line per chain")
    parser.add_argument("--dask", nargs="?", const=LOCAL, metavar="SCHEDULER",
                        help="verify on a Dask cluster: the scheduler's address "
                             "(tcp://host:8786), or none for a local cluster of one worker "
                             "process per core (needs engine[dask])")
    parser.set_defaults(handler=run)


def _chain_files(paths) -> list[Path]:
    from ..verify.sources import pem_files

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = pem_files([path])
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


def _records(files):
    """The chain records of the files, read lazily, in order."""
    from ..verify.sources import is_jsonl, read_jsonl, read_pem_file

    for path in files:
        if is_jsonl(path):
            yield from read_jsonl(path)
        else:
            yield read_pem_file(path)


def run(args) -> int:
    from ..pki import RevocationList
    from ..verify.api import usable_name
    from ._tls_options import load_trust

    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.name is not None and not usable_name(args.name):
        raise UsageError("--name %r is not a DNS name or IP address" % args.name)
    if args.json and args.output:
        raise UsageError("--json and --output are two forms of one output: choose one")
    trust = load_trust(args.trust)  # a bundle or a directory, as s_client takes it
    crls = []
    for crl in args.crl:
        if not Path(crl).is_file():
            raise UsageError("no such CRL file: %s" % crl)
        crls.append(RevocationList.from_bytes(_read(Path(crl))))
    files = _chain_files(args.paths)
    if args.dask is not None:
        rows = _dask_rows(args, files, trust, crls)
    else:
        rows = _local_rows(args, files, trust, crls)
    return _report(args, rows)


def _local_rows(args, files, trust, crls):
    from ..verify.stream import iter_verify_records, result_row

    pairs = iter_verify_records(_records(files), trust, crls=crls, purpose=args.purpose,
                                threads=args.jobs, backend=args.backend, batch_size=BATCH,
                                default_name=args.name)
    total = len(files) if all(p.suffix != ".jsonl" for p in files) else None
    with progress_bar(total, unit="chains", delay=BAR_AFTER_S) as progress:
        for record, verdict in pairs:
            yield result_row(record, verdict, subject=args.json)
            progress.update()


def _dask_rows(args, files, trust, crls):
    try:
        from ..verify import dask as verify_dask
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    client = verify_dask.connect(None if args.dask == LOCAL else args.dask)  # fails here
    try:
        rows = verify_dask.verify_chains(
            [Path(f) for f in files], trust, crls=crls, purpose=args.purpose,
            backend=args.backend, threads=args.jobs or 1, name=args.name)
    except BaseException:
        verify_dask.close(client)
        raise

    def generate():
        try:
            for row in verify_dask.iter_rows(client, rows):
                if args.json:
                    row["subject"] = None  # the leaf is not sent back from the workers
                yield row
        finally:
            verify_dask.close(client)

    return generate()


def _report(args, rows) -> int:
    counts: collections.Counter = collections.Counter()
    results = []
    output = open(args.output, "w", encoding="utf-8") if args.output else None
    try:
        for result in rows:
            counts[result["reason"] or "ok"] += 1
            if args.json:
                results.append(result)
            elif output is not None:
                output.write(json.dumps(result) + "\n")
            else:
                write_line(_line(result))  # beside the progress bar, if one is drawn
    finally:
        if output is not None:
            output.close()
    if args.json:
        print(json.dumps({"results": results, "summary": dict(sorted(counts.items()))},
                         indent=1))
    else:
        total = sum(counts.values())
        summary = ", ".join("%s %d" % (reason, n) for reason, n in sorted(counts.items()))
        print("%d chain%s: %s" % (total, "" if total == 1 else "s", summary))
    return 0 if set(counts) <= {"ok"} else 1


def _line(result) -> str:
    where = result["source"] if result["line"] is None else "%s:%d" % (result["source"],
                                                                      result["line"])
    if result["ok"]:
        return "%s: ok" % where
    depth = "" if result["depth"] is None else " (depth %d)" % result["depth"]
    return "%s: %s%s: %s" % (where, result["reason"], depth, result["detail"])
