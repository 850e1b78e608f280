"""What opening a batch of records gave, as both backends report it."""

from __future__ import annotations

from typing import NamedTuple, Optional


class Opened(NamedTuple):
    """The result of one open call before it is turned into return values or an exception.

    ``segments`` are ``(content_type, offset, length)`` for the records opened, ``consumed`` the
    wire bytes they took, ``records`` their number. ``error`` is None, or why the record at index
    ``records`` stopped the call: ``auth`` (failed authentication), ``overflow`` (too long),
    ``unexpected`` (inner plaintext all zeros), ``seq`` (sequence numbers used up) or ``space``
    (its plaintext does not fit the output buffer).
    """

    segments: list
    consumed: int
    records: int
    error: Optional[str]
