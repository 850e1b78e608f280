"""Helpers shared by the commands: user errors and password input."""

from __future__ import annotations

import getpass
import os
import sys


class UsageError(Exception):
    """A mistake in how the command was called; printed as one line, exit status 2."""


def add_password_options(parser, what: str = "password") -> None:
    """Add --password-file and --password-env; without either the password is prompted for."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--password-file", metavar="FILE", help="read the %s from FILE" % what)
    group.add_argument(
        "--password-env", metavar="VAR", help="read the %s from environment variable VAR" % what
    )


def read_password(args, prompt: str = "Password: ", confirm: bool = False) -> bytes:
    """The password from --password-file, --password-env or a prompt (never from argv)."""
    if getattr(args, "password_file", None):
        try:
            with open(args.password_file, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError("cannot read password file %s: %s" % (args.password_file, exc.strerror))
        password = data.splitlines()[0] if data.strip() else b""
    elif getattr(args, "password_env", None):
        value = os.environ.get(args.password_env)
        if value is None:
            raise UsageError("environment variable %s is not set" % args.password_env)
        password = os.fsencode(value)  # as the environment holds it, whatever its encoding
    else:
        if not sys.stdin.isatty():
            raise UsageError("no password given: use --password-file or --password-env")
        password = getpass.getpass(prompt).encode()
        if confirm and getpass.getpass("Again: ").encode() != password:
            raise UsageError("the passwords do not match")
    if not password:
        raise UsageError("the password is empty")
    return password
