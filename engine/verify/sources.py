"""Chains to verify, read from files: JSON Lines of base64 DER chains, and PEM files.

JSON Lines (one chain per line, the shape certificate-transparency tools export): each line is
either a JSON array of base64 DER certificates, leaf first, or an object whose ``"chain"`` is
such an array and whose optional ``"name"`` is the DNS name or IP address to check::

    {"chain": ["MIIB...", "MIIB..."], "name": "www.example.com"}
    ["MIIB...", "MIIB..."]

A blank line is skipped. A line that is not JSON, has another shape, or holds text that is not
base64 becomes a :class:`ChainRecord` with a ``fault`` (and its line number), never an
exception: its verdict is ``malformed``. A PEM file holds one chain, leaf first.

A JSON Lines file can be cut into byte ranges that start and end on line boundaries, each with
the number of its first line (:func:`line_ranges`), so that several readers share one file.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Iterable, Iterator

PEM_SUFFIXES = (".pem", ".crt", ".cer")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_SCAN = 1 << 20


@dataclasses.dataclass(frozen=True)
class ChainRecord:
    """One chain as read: where it came from, the chain (DER blobs, or a PEM text) and the
    name to check, or why it could not be read."""

    source: str
    line: int | None
    chain: tuple[bytes, ...] | bytes | None
    name: str | None = None
    fault: str | None = None

    @property
    def where(self) -> str:
        return self.source if self.line is None else "%s:%d" % (self.source, self.line)


def parse_line(text: bytes | str, source: str, line: int) -> ChainRecord:
    """The record of one JSON Lines line (line numbers count from 1)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return _fault(source, line, "not JSON (%s)" % exc)
    name = None
    if isinstance(value, dict):
        name = value.get("name")
        value = value.get("chain")
        if name is not None and not isinstance(name, str):
            return _fault(source, line, "\"name\" must be a string")
    if not isinstance(value, list) or not value:
        return _fault(source, line, "expected a non-empty list of base64 certificates, or an "
                                    "object with one as \"chain\"")
    ders = []
    for position, item in enumerate(value):
        if not isinstance(item, str):
            return _fault(source, line, "certificate %d is not a base64 string" % position)
        try:
            ders.append(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError):
            return _fault(source, line, "certificate %d is not valid base64" % position)
    return ChainRecord(source, line, tuple(ders), name)


def _fault(source: str, line: int, why: str) -> ChainRecord:
    return ChainRecord(source, line, None, None, "line %d of %s: %s" % (line, source, why))


def read_jsonl(file, *, source: str | None = None, first_line: int = 1, start: int = 0,
               end: int | None = None) -> Iterator[ChainRecord]:
    """The records of a JSON Lines file (a path or a binary or text file object), from byte
    ``start`` (a line boundary, whose line number is ``first_line``) to byte ``end``."""
    if isinstance(file, (str, os.PathLike)):
        name = source or os.fspath(file)
        with open(file, "rb") as handle:
            yield from read_jsonl(handle, source=name, first_line=first_line, start=start,
                                  end=end)
        return
    name = source or getattr(file, "name", None) or "<stream>"
    name = str(name)
    if start:
        file.seek(start)
    position = start
    for number, text in enumerate(file, first_line):
        if end is not None and position >= end:
            return
        position += len(text) if isinstance(text, bytes) else len(text.encode("utf-8"))
        if text.strip():
            yield parse_line(text, name, number)


def line_ranges(path, block_size: int) -> list[tuple[int, int, int]]:
    """``path`` cut into (start, end, first line number) byte ranges of about ``block_size``
    bytes, each ending just after a newline (or at the end of the file); one scan."""
    size = os.path.getsize(path)
    block_size = max(1, block_size)
    ranges = []
    start, line = 0, 1
    with open(path, "rb") as handle:
        while start < size:
            first, position = line, start
            target = min(size, start + block_size)
            while position < target:
                chunk = handle.read(min(_SCAN, target - position))
                if not chunk:
                    break
                line += chunk.count(b"\n")
                position += len(chunk)
            if position < size and not _ends_line(handle, position):
                rest = handle.readline()  # on to the end of the line the target fell in
                line += rest.count(b"\n")
                position += len(rest)
            ranges.append((start, position, first))
            start = position
    return ranges


def _ends_line(handle, position: int) -> bool:
    """Whether the byte before ``position`` is a newline (the handle is left at position)."""
    handle.seek(position - 1)
    ended = handle.read(1) == b"\n"
    return ended


def read_pem_file(path) -> ChainRecord:
    """The record of one PEM file holding a chain, leaf first."""
    name = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return ChainRecord(name, None, None, None, "cannot read %s: %s"
                           % (name, exc.strerror or exc))
    return ChainRecord(name, None, data)


def pem_files(paths: Iterable) -> list[Path]:
    """The files named, a directory standing for its *.pem/*.crt/*.cer files (sorted)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir()
                                if p.is_file() and p.suffix.lower() in PEM_SUFFIXES))
        else:
            found.append(path)
    return found


def is_jsonl(path) -> bool:
    return Path(path).suffix.lower() in JSONL_SUFFIXES


def read_records(source) -> Iterator[ChainRecord]:
    """The records of a file source: a JSON Lines path or file object, a PEM file, or a
    directory of PEM files."""
    if isinstance(source, (io.IOBase,)) or hasattr(source, "readline"):
        return read_jsonl(source)
    path = Path(source)
    if path.is_dir():
        return (read_pem_file(p) for p in pem_files([path]))
    if is_jsonl(path):
        return read_jsonl(path)
    return iter([read_pem_file(path)])
