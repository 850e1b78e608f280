"""``engine ca``: a certificate authority kept in a directory.

    engine ca init DIR [--cn NAME] [--key-type T] [--days N]
    engine ca issue DIR (--server NAME... | --client NAME) [--key-type T] [--days N]
                        [--out PREFIX | --keystore OUT.p12]
    engine ca revoke DIR SERIAL [--reason R]
    engine ca crl DIR [--days N] [--out FILE]
    engine ca list DIR
"""

from __future__ import annotations

import argparse
import os
import re

from ..pki.keys import KEY_TYPES
from ._common import UsageError, add_password_options, read_password
from .keystore import (
    add_kdf_rounds_option, add_out_password_options, exists_message, kdf_rounds,
    read_out_password, refuse_existing,
)


_DESCRIPTION = """\
A certificate authority kept in a directory (ca.p12, ca.pem, crl.pem, index.json, issued/).

  engine ca init DIR [--cn NAME] [--key-type T] [--days N]
  engine ca issue DIR (--server NAME... | --client NAME) [--out PREFIX | --keystore OUT.p12]
  engine ca revoke DIR SERIAL [--reason R]
  engine ca crl DIR [--days N] [--out FILE]
  engine ca list DIR

The CA password (protecting ca.p12) comes from --password-file FILE, --password-env VAR, or a
prompt; never from the command line. `issue --keystore` asks for the new KeyStore's password
separately: --out-password-file FILE, --out-password-env VAR, or a prompt. Every change to the
directory is atomic and locked, so commands may run at once and may be interrupted safely."""

_REASONS = {
    "unspecified": "unspecified",
    "keycompromise": "keyCompromise",
    "cacompromise": "cACompromise",
    "affiliationchanged": "affiliationChanged",
    "superseded": "superseded",
    "cessationofoperation": "cessationOfOperation",
    "certificatehold": "certificateHold",
    "privilegewithdrawn": "privilegeWithdrawn",
    "aacompromise": "aACompromise",
}


def _positive_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of days" % text) from None
    if not 0 < days <= 36500:
        raise argparse.ArgumentTypeError("days must be more than 0 and at most 36500")
    return days


def register(commands) -> None:
    parser = commands.add_parser(
        "ca", help="run a certificate authority kept in a directory",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="ca_command", metavar="ACTION")
    actions.required = True

    init = actions.add_parser("init", help="create a new root CA in DIR",
                              description="Create a self-signed root CA in DIR (created if "
                              "missing; it must not hold other files).")
    init.add_argument("dir", metavar="DIR")
    init.add_argument("--cn", default="engine Root CA", metavar="NAME",
                      help="the CA's common name (default: %(default)s)")
    init.add_argument("--key-type", choices=KEY_TYPES, default="p256",
                      help="the CA key type (default: %(default)s)")
    init.add_argument("--days", type=_positive_days, default=3650, metavar="N",
                      help="validity of the CA certificate in days (default: %(default)s)")
    add_password_options(init, "new CA password")
    add_kdf_rounds_option(init)
    init.set_defaults(handler=run_init)

    issue = actions.add_parser(
        "issue", help="issue a server or client certificate",
        description="Issue a TLS server certificate (--server: DNS names and IP addresses, the "
        "first is the common name) or client certificate (--client NAME). Writes PREFIX.pem "
        "(certificate) and PREFIX.key (unencrypted private key, mode 0600), or with --keystore "
        "a password-protected KeyStore; none of them may exist. PREFIX defaults to the first "
        "name.")
    who = issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--server", nargs="+", action="extend", metavar="NAME",
                     help="DNS names and IP addresses of the server")
    who.add_argument("--client", metavar="NAME", help="the client's name (its common name)")
    issue.add_argument("dir", metavar="DIR")
    issue.add_argument("--cn", metavar="NAME", help="server common name (default: first name)")
    issue.add_argument("--key-type", choices=KEY_TYPES, default="p256",
                       help="the new key's type (default: %(default)s)")
    issue.add_argument("--days", type=_positive_days, default=90, metavar="N",
                       help="validity in days (default: %(default)s)")
    out = issue.add_mutually_exclusive_group()
    out.add_argument("--out", metavar="PREFIX", help="write PREFIX.pem and PREFIX.key")
    out.add_argument("--keystore", metavar="OUT.p12", help="write a KeyStore instead")
    add_password_options(issue, "CA password")
    add_out_password_options(issue)
    add_kdf_rounds_option(issue)
    issue.set_defaults(handler=run_issue)

    revoke = actions.add_parser(
        "revoke", help="revoke a certificate by serial number",
        description="Record SERIAL (hexadecimal, as `engine ca list` shows it) as revoked; it "
        "appears on every CRL made afterwards (`engine ca crl`).")
    revoke.add_argument("dir", metavar="DIR")
    revoke.add_argument("serial", metavar="SERIAL")
    revoke.add_argument("--reason", default="unspecified", metavar="R",
                        help="one of: %s (default: %%(default)s)" % ", ".join(_REASONS.values()))
    add_password_options(revoke, "CA password")
    revoke.set_defaults(handler=run_revoke)

    crl = actions.add_parser(
        "crl", help="sign a new CRL",
        description="Sign a new CRL of every revoked serial, write it to DIR/crl.pem and, with "
        "--out, to FILE as well.")
    crl.add_argument("dir", metavar="DIR")
    crl.add_argument("--days", type=_positive_days, default=7, metavar="N",
                     help="days until nextUpdate (default: %(default)s)")
    crl.add_argument("--out", metavar="FILE", help="also write the CRL (PEM) to FILE")
    add_password_options(crl, "CA password")
    crl.set_defaults(handler=run_crl)

    listing = actions.add_parser(
        "list", help="list issued certificates and their status",
        description="List every certificate the CA issued: serial, status, expiry, kind, "
        "subject. Needs no password.")
    listing.add_argument("dir", metavar="DIR")
    listing.set_defaults(handler=run_list)


def _open(args):
    from ..pki import CADirectory

    if not os.path.isdir(args.dir):
        raise UsageError("%s is not a directory" % args.dir)
    return CADirectory.open(args.dir, read_password(args, prompt="CA password: "))


def run_init(args) -> int:
    from ..pki import CADirectory

    password = read_password(args, prompt="New CA password: ", confirm=True)
    directory = CADirectory.init(args.dir, args.cn, key_type=args.key_type, password=password,
                                 validity_days=args.days, kdf_rounds=kdf_rounds(args))
    cert = directory.certificate
    print("created CA %s in %s (%s key, serial %x, valid until %s)" % (
        cert.subject.rfc4514_string(), args.dir, args.key_type, cert.serial_number,
        cert.not_valid_after_utc.date().isoformat()))
    return 0


def _default_prefix(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "issued"


def run_issue(args) -> int:
    name = args.server[0] if args.server else args.client
    if args.client is not None and args.cn:
        raise UsageError("--cn is for server certificates; a client's name is its common name")
    if args.keystore:
        outputs = [args.keystore]
    else:
        prefix = args.out or _default_prefix(name)
        outputs = [prefix + ".key", prefix + ".pem"]
    refuse_existing(*outputs)  # early, before any password or signing; creation checks again
    rounds = kdf_rounds(args)
    directory = _open(args)
    out_password = read_out_password(args) if args.keystore else None

    def deliver(issued) -> None:
        """The key first, then the certificate, each created exclusively, before the CA's
        index records the serial (see engine.pki.cadir)."""
        if args.keystore:
            issued.keystore().save(args.keystore, out_password, kdf_rounds=rounds,
                                   exclusive=True)
        else:
            _save_key_and_chain(issued, *outputs)

    if args.server:
        issued = directory.issue_server(args.server, key_type=args.key_type,
                                        validity_days=args.days, common_name=args.cn,
                                        deliver=deliver)
    else:
        issued = directory.issue_client(args.client, key_type=args.key_type,
                                        validity_days=args.days, deliver=deliver)
    print("issued serial %x to %s; wrote %s" % (
        issued.serial_number, issued.certificate.subject.rfc4514_string(),
        " and ".join(reversed(outputs))))
    return 0


def _save_key_and_chain(issued, key_path: str, cert_path: str) -> None:
    """PREFIX.key (PKCS#8, unencrypted: mode 0600, never under a temporary name) and PREFIX.pem
    (the certificate and its intermediates); neither may exist. On failure neither is left."""
    from cryptography.hazmat.primitives import serialization

    from .._fsutil import create_new

    key = issued.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in issued.chain)
    try:
        create_new(key_path, key, 0o600, secret=True)
        try:
            create_new(cert_path, chain, 0o644)
        except BaseException:
            os.unlink(key_path)
            raise
    except FileExistsError as exc:
        raise UsageError(exists_message(exc.filename)) from None
    except OSError as exc:
        raise UsageError("cannot write %s: %s" % (exc.filename, exc.strerror)) from None


def run_revoke(args) -> int:
    from cryptography import x509

    from ..pki.cadir import parse_serial

    reason = _REASONS.get(args.reason.replace("_", "").replace("-", "").lower())
    if reason is None:
        raise UsageError("unknown reason %r; expected one of %s"
                         % (args.reason, ", ".join(_REASONS.values())))
    serial = parse_serial(args.serial)
    directory = _open(args)
    entry = directory.revoke(serial, reason=x509.ReasonFlags(reason))
    print("revoked serial %x (%s); run `engine ca crl %s` to publish it"
          % (entry.serial, reason, args.dir))
    return 0


def run_crl(args) -> int:
    directory = _open(args)
    crl = directory.crl(validity_days=args.days)
    where = os.path.join(args.dir, "crl.pem")
    if args.out:
        try:
            crl.save(args.out)
        except OSError as exc:
            raise UsageError("cannot write %s: %s" % (args.out, exc.strerror)) from None
        where += " and " + args.out
    print("CRL number %d with %d revoked, next update %s; wrote %s" % (
        crl.crl_number, len(crl), crl.next_update.isoformat(), where))
    return 0


def run_list(args) -> int:
    from ..pki import CADirectory

    if not os.path.isdir(args.dir):
        raise UsageError("%s is not a directory" % args.dir)
    directory = CADirectory.open(args.dir)
    records = directory.records()
    print("CA %s: %d issued, %d revoked" % (
        directory.certificate.subject.rfc4514_string(), len(records),
        sum(r.revoked is not None for r in records)))
    for record in records:
        status = "revoked(%s)" % (record.revoked.reason.value if record.revoked.reason
                                  else "unspecified") if record.revoked else "valid"
        print("%-34x %-28s %s %-6s %s" % (record.serial, status, record.not_after.date(),
                                            record.kind, record.subject))
    return 0
