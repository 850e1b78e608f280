"""SSLKEYLOGFILE output in the NSS key log format, for Wireshark and friends.

Each line is ``LABEL <client_random hex> <secret hex>``. Lines are appended with one
``write`` on a file opened with O_APPEND, so lines of concurrent connections never mix. Nothing
is written unless a path is configured: ClientConfig and ServerConfig take it from the
SSLKEYLOGFILE environment variable when they are made, as ``ssl.create_default_context`` does
(not under ``python -E``), unless given ``keylog_file=False`` or a path of their own
(:func:`engine.tls.config.keylog_path`). A key log that cannot be written is a debugging aid
lost, not a reason to fail the handshake: it gives a :class:`KeyLogWarning` (with the path and
the reason, never a secret) and the connection goes on.
"""

from __future__ import annotations

import os
import warnings
from typing import Literal


class KeyLogWarning(RuntimeWarning):
    """The key log file could not be written."""


def write_keylog(path: str | os.PathLike[str] | Literal[False] | None, client_random: bytes,
                 entries) -> None:
    """Append ``(label, secret)`` entries for one connection to the key log at ``path`` (none
    when ``path`` is None or False)."""
    if not path:
        return
    random_hex = client_random.hex()
    text = "".join("%s %s %s\n" % (label, random_hex, secret.hex()) for label, secret in entries)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, text.encode("ascii"))
        finally:
            os.close(fd)
    except OSError as exc:
        warnings.warn("cannot write the key log %s: %s" % (path, exc.strerror or exc),
                      KeyLogWarning, stacklevel=2)
