"""The ``engine`` command line.

Each module of this package that defines ``register(subparsers)`` adds one command; the command's
handler takes the parsed arguments and returns an exit status. A user error prints one line on
stderr and exits 2; when the command line itself cannot be parsed, that line ends with the
command's usage. ``engine`` alone prints the help.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from ..errors import EngineError
from ._common import UsageError


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, with the valid choices and the
    command's usage, and exit status 2."""

    def error(self, message):
        for action in self._actions:
            if (isinstance(action, argparse._SubParsersAction) and action.metavar
                    and message.endswith("required: %s" % action.metavar)):
                message += " (one of %s)" % ", ".join(action.choices)
        usage = " ".join(self.format_usage().split())  # on one line, however wide
        raise UsageError("%s: %s; %s" % (self.prog, message, usage))


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="engine", description="A TLS 1.3 handshake engine and its PKI.")
    parser.add_argument("--version", action="version", version="engine %s" % __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        importlib.import_module("%s.%s" % (__name__, module.name)).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    try:
        parser = build_parser()
        if not argv:  # `engine` alone: what it can do
            parser.print_help()
            return 0
        args = parser.parse_args(argv)
        return args.handler(args) or 0
    except UsageError as exc:
        print("engine: error: %s" % exc, file=sys.stderr)
        return 2
    except EngineError as exc:
        print("engine: error: %s" % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("engine: interrupted", file=sys.stderr)
        return 130
