"""Batch certificate checks spread over a Dask cluster (``pip install engine[dask]``).

The expensive, read-only state of a verification (the trust anchors, the CRLs, the time, the
purpose) goes into the graph once, as one :class:`Setup` object; each worker process builds
its trust store and CRL tables from it the first time a partition needs them (keyed by the
setup's token) and every later partition on that worker reuses them. Each partition is checked
by the native batch (:func:`engine.verify.stream.iter_verify_records`), so a worker with one
thread per core is as fast as a local call on that core.

Sources and results:

- a list of chains (as :func:`engine.verify.verify_chains` takes them, with ``names``): split
  into partitions, verified, and returned as a list of verdicts in order;
- a ``dask.bag.Bag`` of chains (``names``: None or a Bag partitioned alike): a Bag of verdicts;
- files, a path (str or Path) or a list of Path objects: JSON Lines of base64 DER chains with
  an optional name (cut into byte ranges on line boundaries), PEM files, directories of PEM
  files (cut into lists of files). The result is a Bag of dicts, one per chain (``source``,
  ``line``, ``name``, ``ok``, ``reason``, ``detail``, ``depth``; :func:`to_dataframe` makes a
  Dask DataFrame of it), or, given ``output``, a JSON Lines file of those dicts written in
  input order while a progress bar runs on stderr.

Where the work runs: ``client`` (a ``distributed.Client``) when given; else, for the eager
cases (a list source, or ``output``), a ``LocalCluster`` started for the call, one worker
process per core with one thread each (the embedded default); a Bag result runs wherever the
caller computes it. :func:`connect` makes a client for a scheduler address, and turns one that
cannot be reached into a :class:`SchedulerError`.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import functools
import hashlib
import itertools
import json
import os
import threading
import weakref
from pathlib import Path
from typing import Any

from .._progress import progress_bar
from ..errors import EngineError
from . import inputs
from .sources import ChainRecord, is_jsonl, line_ranges, pem_files, read_jsonl, read_pem_file
from .stream import result_row
from .verdict import Verdict, deferred

try:
    import dask
    import dask.bag as dask_bag
except ImportError as exc:  # pragma: no cover - exercised where dask is absent
    raise ImportError("engine.verify.dask needs Dask: pip install 'engine[dask]' (%s)"
                      % exc) from None

JSONL_BLOCK = 8 << 20  # bytes of JSON Lines per partition (about 3,000 two-level chains)
PEM_FILES_PER_PARTITION = 2000
CHAINS_PER_PARTITION = 2000
CONNECT_TIMEOUT_S = 10


class SchedulerError(EngineError):
    """The Dask scheduler cannot be reached (or a cluster cannot be started)."""


@dataclasses.dataclass(frozen=True)
class Setup:
    """Everything a worker needs besides the chains; built once per worker process."""

    token: str
    anchors: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    at: datetime.datetime
    purpose: str
    max_depth: int | None
    backend: str | None
    threads: int
    batch_size: int
    default_name: str | None = None


def make_setup(trust, *, crls=(), at=None, purpose="server", max_depth=None, backend=None,
               threads=1, batch_size=4096, default_name=None) -> Setup:
    """A :class:`Setup` for these arguments, read and checked here, in the caller's process."""
    from . import api

    if purpose not in api.PURPOSES:
        raise ValueError("purpose must be 'server' or 'client', not %r" % (purpose,))
    anchors = inputs.trust_ders(trust)
    crl_set = inputs.crl_ders(crls)
    when = inputs.verification_time(at)
    digest = hashlib.sha256()
    for part in (*anchors, b"--", *crl_set, b"--", when.isoformat().encode(), purpose.encode(),
                 repr((max_depth, backend, threads, batch_size, default_name)).encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return Setup(digest.hexdigest(), anchors, crl_set, when, purpose, max_depth, backend,
                 max(1, int(threads)), batch_size, default_name)


# --- in the worker --------------------------------------------------------------------------

_prepared: dict[str, Setup] = {}
_prepared_lock = threading.Lock()
_builds: collections.Counter[str] = collections.Counter()


def _prepare(setup: Setup) -> Setup:
    """This process's copy of ``setup``, with its trust store and CRL tables built (once)."""
    found = _prepared.get(setup.token)
    if found is not None:
        return found
    with _prepared_lock:
        found = _prepared.get(setup.token)
        if found is None:
            from .. import _backend
            from .revocation import index_for

            _backend.verifier(setup.backend).prepare(setup.anchors, setup.crls)
            if setup.crls:
                index_for(setup.crls)
            _builds[setup.token] += 1
            _prepared[setup.token] = found = setup
    return found


def builds() -> dict[str, int]:
    """How many times this process built the state of each setup (for tests: once)."""
    return dict(_builds)


def _records(setup: Setup, records):
    from .stream import iter_verify_records

    setup = _prepare(setup)
    return iter_verify_records(
        records, setup.anchors, crls=setup.crls, at=setup.at, purpose=setup.purpose,
        max_depth=setup.max_depth, threads=setup.threads, backend=setup.backend,
        batch_size=setup.batch_size, default_name=setup.default_name)


def verify_partition(chains, setup: Setup, names=None) -> list[Verdict]:
    """The verdicts of one partition of chains (and of names, when given), in order."""
    chains = list(chains)
    names = list(names) if names is not None else [None] * len(chains)
    if len(names) != len(chains):
        raise ValueError("names has %d entries for %d chains" % (len(names), len(chains)))
    records = [ChainRecord("<chains>", None, chain, name) for chain, name in zip(chains, names)]
    return [verdict for _, verdict in _records(setup, records)]


class Chunk:
    """A slice of a list of chains (and names) travelling as one object: Dask looks inside
    lists given to a task for collections to compute, which costs a walk over every chain."""

    __slots__ = ("chains", "names")

    def __init__(self, chains, names):
        self.chains = chains
        self.names = names

    def __reduce__(self):
        return (Chunk, (self.chains, self.names))


def verify_chunk(chunk: Chunk, setup: Setup) -> list[tuple]:
    """The verdicts of a chunk in a compact form that does not send the certificates back:
    (reason, detail, depth, path), each path entry the position of a certificate in its chain
    (>= 0), -(k + 1) for trust anchor k, or the DER itself for any other."""
    anchors = {der: -k - 1 for k, der in enumerate(setup.anchors)}
    rows = []
    for chain, verdict in zip(chunk.chains, verify_partition(chunk.chains, setup, chunk.names)):
        where = dict(anchors)
        if isinstance(chain, (list, tuple)):
            where.update((der, k) for k, der in enumerate(chain) if isinstance(der, bytes))
        refs = tuple(where.get(der, der) for der in _path_ders(verdict))
        rows.append((verdict.reason, verdict.detail, verdict.depth, refs))
    return rows


def _path_ders(verdict: Verdict) -> tuple[bytes, ...]:
    return verdict.__getstate__()[4]


def verify_pieces(pieces, setup: Setup) -> list[dict]:
    """The result rows of one partition of file pieces (see :func:`file_pieces`)."""
    return [result_row(record, verdict)
            for record, verdict in _records(setup, _read_pieces(pieces))]


def _read_pieces(pieces):
    for piece in pieces:
        if piece[0] == "jsonl":
            _, path, start, end, first_line = piece
            try:
                yield from read_jsonl(path, start=start, end=end, first_line=first_line)
            except OSError as exc:
                yield ChainRecord(path, None, None, None, "cannot read %s: %s"
                                  % (path, exc.strerror or exc))
        else:
            for path in piece[1]:
                yield read_pem_file(path)


# --- in the caller ------------------------------------------------------------------------


def file_pieces(paths, *, block_size: int = JSONL_BLOCK,
                files_per_partition: int = PEM_FILES_PER_PARTITION) -> list[tuple]:
    """The partitions of a file source: ("jsonl", path, start, end, first line) byte ranges
    of each JSON Lines file, and ("pem", [paths]) groups of PEM files."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    pieces: list[tuple] = []
    pem: list[str] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError("no such file or directory: %s" % path)
        if path.is_file() and is_jsonl(path):
            pieces.extend(("jsonl", str(path), start, end, first)
                          for start, end, first in line_ranges(path, block_size))
        else:
            found = pem_files([path])
            if path.is_dir() and not found:
                raise FileNotFoundError("no .pem/.crt/.cer files in directory %s" % path)
            pem.extend(str(p) for p in found)
    for start in range(0, len(pem), files_per_partition):
        pieces.append(("pem", pem[start:start + files_per_partition]))
    return pieces


def _is_file_source(source) -> bool:
    if isinstance(source, (str, os.PathLike)):
        return True
    return isinstance(source, (list, tuple)) and bool(source) and all(
        isinstance(item, os.PathLike) for item in source)


# The local clusters that connect() started, by their client: close() ends them too.
_clusters_started: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def connect(address: str | None = None, *, workers: int | None = None,
            timeout: float | None = None):
    """A ``distributed.Client``: to the scheduler at ``address`` (``tcp://host:8786``), or
    with no address to a new ``LocalCluster`` of ``workers`` processes (default: one per
    core) with one thread each. Close it (it is a context manager) when done."""
    try:
        import distributed
    except ImportError as exc:
        raise SchedulerError("the Dask scheduler needs dask.distributed: pip install "
                             "'engine[dask]' (%s)" % exc) from None
    import logging

    if address is None:
        try:
            cluster = distributed.LocalCluster(
                n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
        except Exception as exc:  # ports, processes: whatever stops a cluster from starting
            raise SchedulerError("cannot start a local Dask cluster: %s" % exc) from None
        client = distributed.Client(cluster, set_as_default=False)
        _clusters_started[client] = cluster
        return client
    try:
        return distributed.Client(address, set_as_default=False,
                                  timeout=CONNECT_TIMEOUT_S if timeout is None else timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError("cannot reach the Dask scheduler at %s: %s"
                             % (address, str(exc).splitlines()[0] if str(exc) else
                                type(exc).__name__)) from None


def close(client) -> None:
    """Close a client from :func:`connect` (and the cluster it started, if any)."""
    cluster = _clusters_started.pop(client, None)
    client.close()
    if cluster is not None:
        cluster.close()


@contextlib.contextmanager
def _client_for(client):
    if client is not None:
        yield client
        return
    made = connect()
    try:
        yield made
    finally:
        close(made)


def verify_chains(source, trust, *, crls=(), at=None, purpose: str = "server", names=None,
                  client=None, max_depth: int | None = None, backend: str | None = None,
                  threads: int = 1, partitions: int | None = None, output=None,
                  progress=None, name: str | None = None):
    """Verify ``source`` on a Dask cluster; see the module docstring for sources and results.

    names: for a list source, one name (or None) per chain; for a Bag, None or a Bag of names
    partitioned alike. name: the name to check for file records that carry none. client: a
    ``distributed.Client`` (default: a LocalCluster for the call, when the result is computed
    here). threads: native threads per partition task. partitions: how many partitions a list
    is cut into (default: about 2,000 chains each, at least eight per worker). output: for a
    file source, the JSON Lines file to write the results to (then the counts of each reason
    are returned). progress: draw a progress bar on stderr (default: when stderr is a terminal).
    """
    setup = make_setup(trust, crls=crls, at=at, purpose=purpose, max_depth=max_depth,
                       backend=backend, threads=threads, default_name=name)
    shared = dask.delayed(setup, pure=True, traverse=False)
    if isinstance(source, dask_bag.Bag):
        if names is not None and not isinstance(names, dask_bag.Bag):
            raise ValueError("with a Bag of chains, names must be None or a Bag")
        if names is None:
            return source.map_partitions(verify_partition, shared)
        return source.map_partitions(verify_partition, shared, names)
    if _is_file_source(source):
        if names is not None:
            raise ValueError("the records of a file source carry their own names; use name=")
        bag = dask_bag.from_sequence(file_pieces(source), partition_size=1)
        rows = bag.map_partitions(verify_pieces, shared)
        if output is None:
            return rows
        with _client_for(client) as running:
            return write_jsonl(running, rows, output, progress=progress)
    chains = source if isinstance(source, list) else list(source)
    if names is not None:
        names = list(names)
        if len(names) != len(chains):
            raise ValueError("names has %d entries for %d chains" % (len(names), len(chains)))
    if not chains:
        return []
    with _client_for(client) as running:
        # at least eight partitions per worker, so that they finish together
        count = partitions or max(
            8 * _worker_count(running), -(-len(chains) // CHAINS_PER_PARTITION))
        count = max(1, min(count, len(chains)))
        size = -(-len(chains) // count)
        ders = _as_der(chains)
        # The setup goes to every worker once; each chunk straight to the worker that will
        # check it (not through the scheduler, as data in a graph would).
        # Chunks are dealt to the workers in turn: a task runs where its data is.
        on_workers = running.scatter(setup, broadcast=True, hash=False)
        addresses = sorted(running.scheduler_info(n_workers=-1)["workers"]) or [None]

        def submit(number, start):
            chunk = Chunk(ders[start:start + size],
                          None if names is None else names[start:start + size])
            where = addresses[number % len(addresses)]
            data = running.scatter(chunk, hash=False,
                                   workers=None if where is None else [where])
            return running.submit(verify_chunk, data, on_workers, pure=False)

        parts = [functools.partial(submit, number, start)
                 for number, start in enumerate(range(0, len(ders), size))]
        verdicts: list[Verdict] = []
        start = 0
        for part in results_in_order(running, parts, progress):
            verdicts.extend(_rebuilt(ders[start:start + len(part)], part, setup.anchors))
            start += len(part)
        return verdicts


def _as_der(chains: list) -> list:
    """Each chain as DER where it can be read (the rest as given: the worker's verdict on
    them is ``malformed``), so that verdicts can name their path by position."""
    if inputs.all_der(chains):
        return chains
    out = []
    for chain in chains:
        try:
            out.append(inputs.chain_ders(chain))
        except inputs.MalformedInput:
            out.append(chain)
    return out


class _Rows:
    """A partition's compact rows with the caller's chains: the source of its verdicts'
    details and paths (read when first asked for, as for a local batch)."""

    __slots__ = ("chains", "rows", "anchors")

    def __init__(self, chains, rows, anchors):
        self.chains, self.rows, self.anchors = chains, rows, anchors

    def detail(self, index: int) -> str:
        return self.rows[index][1]

    def path(self, index: int) -> tuple:
        chain, anchors = self.chains[index], self.anchors
        return tuple(ref if isinstance(ref, bytes) else chain[ref] if ref >= 0
                     else anchors[-ref - 1] for ref in self.rows[index][3])


def _rebuilt(chains, rows, anchors) -> list[Verdict]:
    """The verdicts of a partition from its compact rows and the chains the caller holds."""
    source = _Rows(chains, rows, anchors)
    return list(map(deferred, itertools.repeat(source), range(len(rows)),
                    [row[0] for row in rows],
                    [-1 if row[2] is None else row[2] for row in rows]))


def _worker_count(client) -> int:
    try:
        return max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    except Exception:
        return 1


def results_in_order(client, parts, progress=None, unit: str = "partitions"):
    """Compute ``parts`` on ``client`` and yield each result in order, with at most a few
    partitions per worker submitted ahead; a progress bar on stderr follows. A part is a
    Dask Delayed object, or a function of no argument that submits it and returns its
    future."""
    window = max(4, 4 * _worker_count(client))
    bar = progress_bar(len(parts), unit=unit, enabled=progress)
    pending: collections.deque = collections.deque()
    try:
        for part in parts:
            is_graph = dask.is_dask_collection(part)  # a Delayed is callable too
            pending.append(client.compute(part) if is_graph else part())
            if len(pending) >= window:
                yield _take(pending, bar)
        while pending:
            yield _take(pending, bar)
    finally:
        for future in pending:
            future.cancel()
        bar.close()


def _take(pending, bar):
    future = pending.popleft()
    result = future.result()
    future.release()
    bar.update()
    return result


def iter_rows(client, rows, progress=None):
    """The rows of a Bag of result rows, computed on ``client``, in input order."""
    for part in results_in_order(client, rows.to_delayed(), progress):
        yield from part


def write_jsonl(client, rows, output, *, progress=None) -> collections.Counter:
    """Compute a Bag of result rows on ``client`` and write them to ``output`` (a path) as
    JSON Lines in input order; returns the count of each reason ("ok" for valid chains)."""
    counts: collections.Counter = collections.Counter()
    with open(output, "w", encoding="utf-8") as handle:
        for part in results_in_order(client, rows.to_delayed(), progress):
            for row in part:
                counts[row["reason"] or "ok"] += 1
            handle.write("".join(json.dumps(row) + "\n" for row in part))
    return counts


def to_dataframe(rows):
    """A Dask DataFrame of a Bag of result rows (needs pandas)."""
    meta = {"source": str, "line": "Int64", "name": object, "ok": bool, "reason": object,
            "detail": str, "depth": "Int64"}
    return rows.to_dataframe(meta=meta)
