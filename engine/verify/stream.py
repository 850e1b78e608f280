"""Verifying a stream of chains in bounded memory.

:func:`iter_verify` takes any iterable of chains (a generator, a file of JSON Lines, a
directory of PEM files) and yields one verdict per chain, in order. It reads the input a batch
at a time and keeps at most :data:`IN_FLIGHT` batches between reading and yielding: while the
native verifier checks one batch on every core (without the GIL), the calling thread reads the
next and hands out the verdicts of the one before. Ten million chains never need more than a
few batches in memory; the trust store, the CRL tables and the verification time are set up
once for the whole stream.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import os
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence, cast

from . import api, inputs
from .revocation import index_for
from .sources import ChainRecord, read_records
from .verdict import Verdict, rejected

if TYPE_CHECKING:
    from cryptography import x509

BATCH = 4096
IN_FLIGHT = 2  # batches handed to the verifier ahead of the one being yielded


def _is_file_source(chains) -> bool:
    return isinstance(chains, (str, bytes, os.PathLike)) or hasattr(chains, "readline")


def iter_verify(chains, trust, *, crls=(), at=None, purpose: str = "server", names=None,
                max_depth: int | None = None, threads: int | None = None,
                backend: str | None = None, batch_size: int = BATCH) -> Iterator[Verdict]:
    """Yield one :class:`Verdict` per chain of ``chains``, in order, in bounded memory.

    chains: an iterable of chains as :func:`verify_chains` takes them, or a file source: the
    path of a JSON Lines file (one base64 DER chain per line, optionally with a name; see
    :mod:`engine.verify.sources`), a binary file object holding one, a PEM file or a directory
    of PEM files (one chain per file). names: None, or an iterable of one name (or None) per
    chain, read in step with ``chains``; for a file source, each record's own name counts, and
    ``names`` must be None. A record that cannot be read gets a ``malformed`` verdict naming
    its line. The other arguments are those of :func:`verify_chains`; the trust store, CRLs and
    time (default: now, taken once) are read before the first chain.
    """
    if _is_file_source(chains):
        if names is not None:
            raise ValueError("names come from the records of a file source")
        pairs = iter_verify_records(read_records(chains), trust, crls=crls, at=at,
                                    purpose=purpose, max_depth=max_depth, threads=threads,
                                    backend=backend, batch_size=batch_size)
        return (verdict for _, verdict in pairs)
    if isinstance(names, str):
        raise ValueError("names must be one name per chain (an iterable), not a single string")
    named = zip(chains, names) if names is not None else ((c, None) for c in chains)
    records = (ChainRecord("<chains>", None, chain, name) for chain, name in named)
    pairs = iter_verify_records(records, trust, crls=crls, at=at, purpose=purpose,
                                max_depth=max_depth, threads=threads, backend=backend,
                                batch_size=batch_size)
    return (verdict for _, verdict in pairs)


def iter_verify_records(records: Iterable[ChainRecord], trust, *, crls=(), at=None,
                        purpose: str = "server", max_depth: int | None = None,
                        threads: int | None = None, backend: str | None = None,
                        batch_size: int = BATCH, default_name: str | None = None
                        ) -> Iterator[tuple[ChainRecord, Verdict]]:
    """Yield (record, verdict) for each record, in order; ``default_name`` is checked for
    records that carry no name of their own."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError("batch_size must be a positive integer")
    if purpose not in api.PURPOSES:
        raise ValueError("purpose must be 'server' or 'client', not %r" % (purpose,))
    when = inputs.verification_time(at)
    anchors = inputs.trust_ders(trust)  # errors in the trust store or CRLs come now
    crl_set = inputs.crl_ders(crls)
    if crl_set:
        index_for(crl_set)

    def verify(batch: list[ChainRecord]) -> list[Verdict]:
        readable = [r for r in batch if r.fault is None]
        # A readable record's chain is DER blobs or one PEM text, and the anchors are DER:
        # verify_chains reads these forms too, though its signature names only certificates.
        chains = cast("list[Sequence[bytes]]", [r.chain for r in readable])
        verdicts = iter(api.verify_chains(
            chains, cast("Iterable[x509.Certificate]", anchors),
            crls=crl_set, at=when, purpose=purpose, max_depth=max_depth, threads=threads,
            names=[r.name if r.name is not None else default_name for r in readable],
            backend=backend,
        ) if readable else ())
        return [next(verdicts) if r.fault is None else rejected("malformed", r.fault, None, ())
                for r in batch]

    return _pipeline(iter(records), verify, batch_size)


def _pipeline(items: Iterator, verify, batch_size: int) -> Iterator[tuple]:
    """(item, verdict) pairs, verifying up to IN_FLIGHT batches on a helper thread while the
    caller consumes the one before."""
    pending: collections.deque = collections.deque()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="engine-verify") as pool:
        try:
            while True:
                batch = list(itertools.islice(items, batch_size))
                if batch:
                    pending.append((batch, pool.submit(verify, batch)))
                    if len(pending) < IN_FLIGHT:
                        continue
                if not pending:
                    return
                done, future = pending.popleft()
                yield from zip(done, future.result())
        finally:
            for _, future in pending:
                future.cancel()


def result_row(record: ChainRecord, verdict: Verdict, *, subject: bool = False) -> dict:
    """One chain's result as a JSON-ready dict: where it came from and its verdict (and the
    leaf's subject, which costs parsing it, when asked for)."""
    row = {"source": record.source, "line": record.line, "name": record.name,
           "ok": verdict.ok, "reason": verdict.reason, "detail": verdict.detail,
           "depth": verdict.depth}
    if subject:
        chain = verdict.chain
        row["subject"] = chain[0].subject.rfc4514_string() if chain else None
    return row
