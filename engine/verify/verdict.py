"""The answer for one chain: a :class:`Verdict` and the closed set of reasons it may carry."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from . import inputs

_DER = Encoding.DER

REASONS = (
    "expired",
    "not_yet_valid",
    "untrusted",
    "bad_signature",
    "revoked",
    "crl_invalid",
    "name_mismatch",
    "bad_usage",
    "path_too_long",
    "invalid_ca",
    "malformed",
    "unsupported",
)


class Verdict:
    """Whether a chain checks out, and if not, why.

    ``reason`` is None when ``ok``, else one of :data:`REASONS`; ``detail`` is a sentence for
    people; ``depth`` is the position in ``chain`` (0 is the leaf) of the certificate that
    failed, when one can be named; ``chain`` is the path that was built, leaf first, trust
    anchor last (for a failure, the best path that could be assembled).

    The path may be given as certificates or as their DER encodings: DER is parsed (through
    the shared cache of parsed certificates) the first time ``chain`` is read, so a batch whose
    paths are never looked at does not pay for parsing them. An encoding that cannot be parsed
    is left out of ``chain``. Verdicts are immutable and compare by value, whichever form their
    path was given in.
    """

    __slots__ = ("ok", "reason", "depth", "_detail", "_path", "_chain", "_source")

    ok: bool
    reason: str | None
    depth: int | None
    _detail: str | None
    _path: tuple[x509.Certificate | bytes, ...] | None
    _chain: tuple[x509.Certificate, ...] | None
    _source: tuple[Any, int] | None

    def __init__(self, ok: bool, reason: str | None, detail: str, depth: int | None,
                 chain: Iterable[x509.Certificate | bytes]):
        if ok != (reason is None):
            raise ValueError("a Verdict is ok exactly when it has no reason")
        if reason is not None and reason not in REASONS:
            raise ValueError("unknown verdict reason %r" % (reason,))
        path = tuple(chain)
        init = object.__setattr__
        init(self, "ok", ok)
        init(self, "reason", reason)
        init(self, "depth", depth)
        init(self, "_detail", detail)
        init(self, "_path", path)
        parsed = all(isinstance(item, x509.Certificate) for item in path)
        init(self, "_chain", path if parsed else None)
        init(self, "_source", None)

    @property
    def detail(self) -> str:
        try:
            found = self._detail
        except AttributeError:  # a deferred verdict leaves it unset until read
            found = None
        if found is None:
            assert self._source is not None  # a deferred verdict: it has a source
            source, index = self._source
            found = source.detail(index)
            _set_detail(self, found)  # the same value, computed once
        return found

    def _ders(self) -> tuple:
        """The path as given: certificates or DER (read from the batch's results if deferred)."""
        try:
            found = self._path
        except AttributeError:
            found = None
        if found is None:
            assert self._source is not None  # a deferred verdict: it has a source
            source, index = self._source
            found = source.path(index)
            _set_path(self, found)
        return found

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        try:
            found = self._chain
        except AttributeError:
            found = None
        if found is None:
            found = tuple(_parsed(item) for item in self._ders())
            found = tuple(c for c in found if c is not None)
            _set_chain(self, found)  # the same value, computed once
        return found

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError("cannot assign to field %r" % (name,))

    def __delattr__(self, name):
        raise dataclasses.FrozenInstanceError("cannot delete field %r" % (name,))

    def __getstate__(self):
        """The path travels as DER (a pickled verdict may cross processes, as in Dask)."""
        path = tuple(item.public_bytes(_DER) if isinstance(item, x509.Certificate) else item
                     for item in self._ders())
        return (self.ok, self.reason, self.detail, self.depth, path)

    def __setstate__(self, state):
        Verdict.__init__(self, *state)

    def _key(self) -> tuple:
        return (self.ok, self.reason, self.detail, self.depth, self.chain)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Verdict(ok=%r, reason=%r, detail=%r, depth=%r, chain=%r)" % self._key()

    def __bool__(self) -> bool:
        return self.ok


def _parsed(item):
    """A certificate of a path, parsed from DER when given so; None when it cannot be read."""
    if isinstance(item, x509.Certificate):
        return item
    try:
        return inputs.certificate(item)
    except inputs.MalformedInput:
        return None


def _slot_setter(name: str) -> Callable[[Verdict, Any], None]:
    """The ``__set__`` of one of Verdict's slots: it assigns past the frozen ``__setattr__``."""
    return Verdict.__dict__[name].__set__


_new = object.__new__
_set_ok = _slot_setter("ok")
_set_reason = _slot_setter("reason")
_set_depth = _slot_setter("depth")
_set_detail = _slot_setter("_detail")
_set_path = _slot_setter("_path")
_set_chain = _slot_setter("_chain")
_set_source = _slot_setter("_source")
_VALID = "the chain is valid"


def deferred(source, index: int, reason: str | None, depth: int) -> Verdict:
    """The verdict of chain ``index`` of a batch whose ``source`` gives its detail
    (``source.detail(index)``) and its path as DER (``source.path(index)``) when first read.
    ``depth`` is negative when no certificate is at fault. The cheapest way to make many."""
    verdict = _new(Verdict)  # detail (unless valid), path and chain stay unset until read
    _set_ok(verdict, reason is None)
    _set_reason(verdict, reason)
    _set_depth(verdict, depth if depth >= 0 else None)
    _set_source(verdict, (source, index))
    if reason is None:
        _set_detail(verdict, _VALID)
    return verdict


def accepted(chain: Iterable[x509.Certificate | bytes]) -> Verdict:
    return Verdict(True, None, _VALID, None, chain)


def rejected(reason: str, detail: str, depth: int | None, chain=()) -> Verdict:
    return Verdict(False, reason, detail, depth, chain)
