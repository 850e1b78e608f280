"""SSLKEYLOGFILE output in the NSS key log format, for Wireshark and friends.

Each line is ``LABEL <client_random hex> <secret hex>``. Lines are appended with one
``write`` on a file opened with O_APPEND, so lines of concurrent connections never mix. Nothing
is written unless a path is configured.
"""

from __future__ import annotations

import os


def write_keylog(path: str | None, client_random: bytes, entries) -> None:
    """Append ``(label, secret)`` entries for one connection to the key log at ``path``."""
    if not path:
        return
    random_hex = client_random.hex()
    text = "".join("%s %s %s\n" % (label, random_hex, secret.hex()) for label, secret in entries)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)
