"""``engine user``: administrator accounts in a bcrypt password file."""

from __future__ import annotations

import argparse

from ._common import add_password_options, read_password

_DESCRIPTION = """\
Administrator accounts kept in a password file of name:bcrypt-hash lines (mode 0600).

  engine user add FILE NAME [--rounds N]    add NAME (the file is created if missing)
  engine user check FILE NAME               exit 0 if the password is NAME's, 1 if not
  engine user change FILE NAME [--rounds N] give NAME a new password
  engine user remove FILE NAME              remove NAME
  engine user list FILE                     list the names

Passwords come from --password-file FILE, --password-env VAR, or a prompt; never from the
command line. Passwords over 72 bytes are pre-hashed with SHA-256, so every byte counts."""


def register(commands) -> None:
    parser = commands.add_parser(
        "user", help="manage administrator accounts (bcrypt password file)",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="user_command", metavar="ACTION")
    actions.required = True
    helps = {
        "add": "add a user (the file is created if missing)",
        "check": "check a user's password: exit 0 if it matches, 1 if not",
        "change": "give a user a new password",
        "remove": "remove a user",
    }
    for action, text in helps.items():
        sub = actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument("file", metavar="FILE", help="the password file")
        sub.add_argument("name", metavar="NAME", help="the user name")
        if action != "remove":
            add_password_options(sub, "password")
        if action in ("add", "change"):
            sub.add_argument("--rounds", type=int, default=12, metavar="N",
                             help="bcrypt cost, 4 to 31 (default: %(default)s)")
        sub.set_defaults(handler=globals()["run_" + action])
    listing = actions.add_parser("list", help="list the user names",
                                 description="List the user names in FILE.")
    listing.add_argument("file", metavar="FILE", help="the password file")
    listing.set_defaults(handler=run_list)


def _accounts(args):
    from ..auth import PasswordFile

    return PasswordFile(args.file, rounds=getattr(args, "rounds", 12))


def run_add(args) -> int:
    accounts = _accounts(args)
    if args.name in accounts:  # before asking for a password; add() checks again under the lock
        from ..errors import AuthError

        raise AuthError("user %r already exists" % args.name)
    accounts.add(args.name, read_password(args, prompt="Password for %s: " % args.name,
                                          confirm=True))
    print("added %s to %s" % (args.name, args.file))
    return 0


def run_check(args) -> int:
    accounts = _accounts(args)
    if accounts.verify(args.name, read_password(args, prompt="Password for %s: " % args.name)):
        print("%s: password verified" % args.name)
        return 0
    print("%s: wrong password or unknown user" % args.name)
    return 1


def run_change(args) -> int:
    accounts = _accounts(args)
    accounts.change(args.name, read_password(args, prompt="New password for %s: " % args.name,
                                             confirm=True))
    print("changed the password of %s" % args.name)
    return 0


def run_remove(args) -> int:
    _accounts(args).remove(args.name)
    print("removed %s from %s" % (args.name, args.file))
    return 0


def run_list(args) -> int:
    for name in _accounts(args).users():
        print(name)
    return 0
