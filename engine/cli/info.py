"""``engine info``: version, active backend and why, libcrypto versions."""

from __future__ import annotations

import cryptography

from .. import __version__
from .._backend import info


def register(commands) -> None:
    parser = commands.add_parser("info", help="show the version and the active backend")
    parser.set_defaults(handler=run)


def run(args) -> int:
    print("engine %s" % __version__)
    print(info())
    print("cryptography %s (fallback backend)" % cryptography.__version__)
    return 0
