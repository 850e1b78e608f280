"""``engine keystore``: make a password-protected PKCS#12 KeyStore from PEM files, or show one.

    engine keystore create OUT.p12 --cert CERT.pem --key KEY.pem [--chain CHAIN.pem]
    engine keystore show FILE.p12

The KeyStore password comes from --password-file FILE, --password-env VAR, or a prompt.
"""

from __future__ import annotations

import argparse
import os
import sys
import types

from ._common import UsageError, add_password_options, read_password


def add_kdf_rounds_option(parser) -> None:
    parser.add_argument("--kdf-rounds", type=int, metavar="N",
                        help="PBKDF2 iterations protecting the new KeyStore (default 600000)")


def kdf_rounds(args):
    rounds = getattr(args, "kdf_rounds", None)
    if rounds is not None and not 1000 <= rounds <= 10_000_000:
        raise UsageError("--kdf-rounds must be between 1000 and 10000000")
    return rounds


def add_out_password_options(parser) -> None:
    """--out-password-file / --out-password-env: the password of a KeyStore being written."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--out-password-file", metavar="FILE",
                       help="read the new KeyStore's password from FILE")
    group.add_argument("--out-password-env", metavar="VAR",
                       help="read the new KeyStore's password from environment variable VAR")


def read_out_password(args) -> bytes:
    if not (args.out_password_file or args.out_password_env) and not sys.stdin.isatty():
        raise UsageError("no password for the new KeyStore: use --out-password-file or "
                         "--out-password-env")
    source = types.SimpleNamespace(password_file=args.out_password_file,
                                   password_env=args.out_password_env)
    return read_password(source, prompt="New KeyStore password: ", confirm=True)


def exists_message(path) -> str:
    return "%s exists; remove it or choose another name" % path


def refuse_existing(*paths) -> None:
    """A quick check before the work: the files are created exclusively all the same."""
    for path in paths:
        if path and os.path.lexists(path):
            raise UsageError(exists_message(path))


def read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError("cannot read %s %s: %s" % (what, path, exc.strerror)) from None


def load_certificates(path: str, what: str) -> list:
    from ..errors import CertificateError
    from ..pki.certfile import read_certificates

    data = read_file(path, what)
    try:
        return read_certificates(data, "%s %s" % (what, path))
    except CertificateError as exc:
        raise UsageError(str(exc)) from None


def load_private_key(path: str):
    from cryptography.hazmat.primitives import serialization

    data = read_file(path, "key file")
    try:
        if b"-----BEGIN" in data:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except TypeError:
        raise UsageError("key file %s is encrypted; give an unencrypted key (or a KeyStore)"
                         % path) from None
    except Exception:  # ValueError, or an algorithm cryptography does not support
        raise UsageError("key file %s holds no readable private key" % path) from None


def describe(keystore) -> list:
    """Lines describing a KeyStore: its certificate, key and chain."""
    from cryptography import x509

    cert = keystore.certificate
    lines = [
        "subject:    %s" % cert.subject.rfc4514_string(),
        "issuer:     %s" % cert.issuer.rfc4514_string(),
        "serial:     %x" % cert.serial_number,
        "key type:   %s" % keystore.key_type,
        "not before: %s" % cert.not_valid_before_utc.isoformat(),
        "not after:  %s" % cert.not_valid_after_utc.isoformat(),
    ]
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        lines.append("names:      %s" % ", ".join(
            str(v) for v in names.get_values_for_type(x509.DNSName)
            + names.get_values_for_type(x509.IPAddress)))
    except x509.ExtensionNotFound:
        pass
    for number, extra in enumerate(keystore.chain, 1):
        lines.append("chain %d:    %s" % (number, extra.subject.rfc4514_string()))
    return lines


_DESCRIPTION = """\
Make a password-protected PKCS#12 KeyStore from PEM files, or show one.

  engine keystore create OUT.p12 --cert CERT.pem --key KEY.pem [--chain CHAIN.pem]
  engine keystore show FILE.p12

The KeyStore password comes from --password-file FILE, --password-env VAR, or a prompt."""


def register(commands) -> None:
    parser = commands.add_parser(
        "keystore", help="make or show a password-protected PKCS#12 KeyStore",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="keystore_command", metavar="ACTION")
    actions.required = True

    create = actions.add_parser(
        "create", help="write a KeyStore from a PEM certificate and private key",
        description="Write OUT.p12 (PBES2 AES-256-CBC, HMAC-SHA256) holding the private key of "
                    "--key, the certificate of --cert (a PEM file may hold the chain after the "
                    "leaf) and the intermediates of --chain. The key must not be encrypted.")
    create.add_argument("out", metavar="OUT.p12", help="the KeyStore to write (must not exist)")
    create.add_argument("--cert", required=True, metavar="FILE", help="certificate, leaf first")
    create.add_argument("--key", required=True, metavar="FILE", help="its private key (PEM)")
    create.add_argument("--chain", metavar="FILE", help="intermediate CA certificates (PEM)")
    add_password_options(create, "new KeyStore's password")
    add_kdf_rounds_option(create)
    create.set_defaults(handler=run_create)

    show = actions.add_parser("show", help="describe a KeyStore's certificate, key and chain",
                              description="Open FILE.p12 and describe what it holds.")
    show.add_argument("file", metavar="FILE.p12")
    add_password_options(show, "KeyStore password")
    show.set_defaults(handler=run_show)


def run_create(args) -> int:
    from ..pki import KeyStore

    refuse_existing(args.out)
    certificates = load_certificates(args.cert, "certificate file")
    chain = certificates[1:]
    if args.chain:
        chain += load_certificates(args.chain, "chain file")
    keystore = KeyStore(load_private_key(args.key), certificates[0], chain)
    password = read_password(args, prompt="New KeyStore password: ", confirm=True)
    keystore.save(args.out, password, kdf_rounds=kdf_rounds(args), exclusive=True)
    print("wrote %s: %s (%s key, %d in chain)" % (
        args.out, keystore.certificate.subject.rfc4514_string(), keystore.key_type, len(chain)))
    return 0


def run_show(args) -> int:
    from ..pki import KeyStore

    password = read_password(args, prompt="KeyStore password: ")
    keystore = KeyStore.load(args.file, password)
    print("\n".join(describe(keystore)))
    return 0
