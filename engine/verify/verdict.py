"""The answer for one chain: a :class:`Verdict` and the closed set of reasons it may carry."""

from __future__ import annotations

import dataclasses

from cryptography import x509

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


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Whether a chain checks out, and if not, why.

    ``reason`` is None when ``ok``, else one of :data:`REASONS`; ``detail`` is a sentence for
    people; ``depth`` is the position in ``chain`` (0 is the leaf) of the certificate that
    failed, when one can be named; ``chain`` is the path that was built, leaf first, trust
    anchor last (for a failure, the best path that could be assembled).
    """

    ok: bool
    reason: str | None
    detail: str
    depth: int | None
    chain: tuple[x509.Certificate, ...]

    def __post_init__(self):
        if self.ok != (self.reason is None):
            raise ValueError("a Verdict is ok exactly when it has no reason")
        if self.reason is not None and self.reason not in REASONS:
            raise ValueError("unknown verdict reason %r" % (self.reason,))

    def __bool__(self) -> bool:
        return self.ok


def accepted(chain: tuple[x509.Certificate, ...]) -> Verdict:
    return Verdict(True, None, "the chain is valid", None, tuple(chain))


def rejected(reason: str, detail: str, depth: int | None, chain=()) -> Verdict:
    return Verdict(False, reason, detail, depth, tuple(chain))
