"""Options and file loading shared by ``engine s_server`` and ``engine s_client``."""

from __future__ import annotations

import os

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ._common import UsageError, read_password


def add_parameter_options(parser) -> None:
    """--ciphersuites, --groups, --alpn, --trust and --crl, as the two commands share them."""
    parser.add_argument("--trust", metavar="CA.pem",
                        help="PEM bundle (or directory) of the CAs to trust for the peer")
    parser.add_argument("--crl", metavar="CRL.pem", action="append", default=[],
                        help="a CRL to check the peer's chain against (repeatable; once any is "
                             "given, every CA of the chain needs its own)")
    parser.add_argument("--alpn", metavar="LIST", help="ALPN protocols, comma separated")
    parser.add_argument("--ciphersuites", metavar="LIST",
                        help="TLS 1.3 cipher suites by IANA name, comma or colon separated")
    parser.add_argument("--groups", metavar="LIST",
                        help="key exchange groups (x25519, secp256r1, secp384r1, X25519MLKEM768)")


def split_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip() for item in value.replace(":", ",").split(",") if item.strip())


def checked_names(value: str | None, known, what: str) -> tuple[str, ...] | None:
    """The names of ``value`` if every one is in ``known``; None when not given."""
    names = split_list(value)
    if not value:
        return None
    if not names:
        raise UsageError("--%s is empty" % what)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError("unknown %s %s; expected some of %s"
                         % (what, ", ".join(unknown), ", ".join(known)))
    return names


def parameter_choices(args) -> dict:
    """The config keywords that --ciphersuites and --groups ask for (none when not given)."""
    from ..tls import CIPHER_SUITES, GROUPS

    options = {}
    suites = checked_names(args.ciphersuites, CIPHER_SUITES, "ciphersuites")
    if suites:
        options["cipher_suites"] = suites
    groups = checked_names(args.groups, GROUPS, "groups")
    if groups:
        options["groups"] = groups
    return options


def load_keystore(cert_path: str | None, key_path: str | None, args):
    """A KeyStore from a PEM certificate chain (leaf first) and its private key, whose
    password, if it is encrypted, comes from --password-file, --password-env or a prompt."""
    from ..pki import KeyStore

    if not cert_path or not key_path:
        raise UsageError("a certificate needs both its --cert and --key file")
    return KeyStore.from_pem(
        cert_path, key_path,
        password=lambda: read_password(args, prompt="Password for %s: " % key_path))


def open_keystore(path: str, args):
    """A password-protected PKCS#12 KeyStore; a wrong password is one line, exit 2."""
    from ..pki import KeyStore

    if not os.path.exists(path):
        raise UsageError("no such KeyStore file: %s" % path)
    password = read_password(args, prompt="KeyStore password: ")
    return KeyStore.load(path, password)


def load_trust(path: str | None):
    """A TrustStore of a PEM bundle or a directory of CA files (TrustStoreError naming the
    file when it cannot be read)."""
    from ..pki import TrustStore

    if not path:
        return None
    if not os.path.exists(path):
        raise UsageError("no such trust file: %s" % path)
    return TrustStore(path)


def load_crls(paths) -> list:
    from ..pki import RevocationList

    return [RevocationList.load(path) for path in paths]


def keylog_file() -> str | None:
    """SSLKEYLOGFILE, as browsers and openssl honour it (NSS key log format)."""
    return os.environ.get("SSLKEYLOGFILE") or None


def key_description(public_key) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ECDSA %s" % public_key.curve.name
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA %d" % public_key.key_size
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(public_key).__name__


def name_of(name: x509.Name) -> str:
    return name.rfc4514_string() or "(empty name)"


def chain_lines(chain, trust=None) -> list[str]:
    """One block per certificate, as openssl s_client prints the chain, then the anchor."""
    lines = []
    for depth, cert in enumerate(chain):
        lines.append(" %d s:%s" % (depth, name_of(cert.subject)))
        lines.append("   i:%s" % name_of(cert.issuer))
        lines.append("   key: %s, serial %#x, valid until %s"
                     % (key_description(cert.public_key()), cert.serial_number,
                        cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")))
    if chain and trust is not None:
        if chain[-1] in trust:
            lines.append(" trusted root: %s (depth %d)" % (name_of(chain[-1].subject), len(chain) - 1))
        else:
            anchors = trust.find_by_subject(chain[-1].issuer)
            if anchors:
                lines.append(" trusted root: %s" % name_of(anchors[0].subject))
    return lines


def summary_line(handshake) -> str:
    return ("TLSv1.3, cipher %s, group %s, signature %s, ALPN %s"
            % (handshake.cipher_suite, handshake.group, handshake.signature_scheme or "-",
               handshake.alpn_protocol or "-"))


def parse_host_port(value: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port``, ``[v6addr]:port``; the port may default."""
    host, port = value, None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise UsageError("bad address %r: missing ]" % value)
        host, rest = value[1:end], value[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise UsageError("bad address %r" % value)
            port = rest[1:]
    elif value.count(":") == 1:
        host, port = value.split(":")
    if port is None:
        if default_port is None:
            raise UsageError("bad address %r: expected HOST:PORT" % value)
        return host, default_port
    return host, checked_port(port)


def checked_port(value) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise UsageError("bad port %r" % value)
    if not 0 <= port <= 65535:
        raise UsageError("port %d out of range 0-65535" % port)
    return port
