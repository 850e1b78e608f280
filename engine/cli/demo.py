"""``engine demo``: the whole story on 127.0.0.1, one step at a time.

A throwaway CA issues a certificate for ``localhost``; the server keeps it with its private key
in a password-protected KeyStore file; the client trusts the CA and holds its CRL. Over real
sockets, the client connects to the server by name, checks its certificate, agrees on session
keys, checks revocation and exchanges encrypted data both ways. Then the same client refuses a
revoked certificate and one from a CA it does not trust, each with the alert and the reason.

Nothing secret is printed: no password, private key or traffic secret.
"""

from __future__ import annotations

import os
import queue
import secrets
import socket
import sys
import tempfile
import threading
import time

from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ..errors import EngineError, KeyStoreError, PeerAlertError, ProtocolError
from ._common import UsageError
from ._tls_options import key_description, name_of

if TYPE_CHECKING:
    from ..pki import CertificateAuthority, KeyStore, RevocationList, TrustStore

_TIMEOUT = 10.0
_CLIENT_MESSAGE = b"GET /balance HTTP/1.1\r\nHost: localhost\r\n\r\n"
_SERVER_MESSAGE = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nbalance: 42\n"


def register(commands) -> None:
    parser = commands.add_parser(
        "demo", help="run the whole scenario on 127.0.0.1: CA, KeyStore, CRL, TLS 1.3")
    parser.add_argument("--key-type", default="p256",
                        help="server key type: p256, p384, ed25519, rsa2048 (default p256)")
    parser.add_argument("--group", default="x25519",
                        help="key exchange group (default x25519)")
    parser.add_argument("--cipher-suite", default=None,
                        help="restrict the client to this TLS 1.3 cipher suite")
    parser.set_defaults(handler=run)


class _Printer:
    def __init__(self, out):
        self.out = out

    def step(self, number, title: str, *lines: str) -> None:
        label = "(%s)" % number if number not in (None, "") else ""
        self.out.write("%-5s %-13s %s\n" % (label, title, lines[0] if lines else ""))
        for line in lines[1:]:
            self.out.write("%-5s %-13s %s\n" % ("", "", line))
        self.out.flush()

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()


class _Listener:
    """A server on 127.0.0.1:0 in a thread; what its handler and errors saw come back on queues."""

    def __init__(self, config, handler=None):
        from ..blocking import Server

        self.results: queue.Queue = queue.Queue()
        self.errors: queue.Queue = queue.Queue()
        self.stop = threading.Event()

        def on_connection(tls):
            if handler is not None:
                self.results.put(handler(tls))

        self.server = Server("127.0.0.1", 0, config, on_connection,
                             handshake_timeout=_TIMEOUT,
                             on_error=lambda address, exc: self.errors.put(exc))
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"stop": self.stop}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.port

    def close(self) -> None:
        self.stop.set()
        self.thread.join(_TIMEOUT)


def _verify_certificate_signature(certificate, issuer_public_key) -> str:
    """Check ``certificate``'s signature with the issuer's public key; the algorithm's name."""
    algorithm = certificate.signature_algorithm_oid._name
    if isinstance(issuer_public_key, ec.EllipticCurvePublicKey):
        issuer_public_key.verify(certificate.signature, certificate.tbs_certificate_bytes,
                                 ec.ECDSA(certificate.signature_hash_algorithm))
    elif isinstance(issuer_public_key, rsa.RSAPublicKey):
        issuer_public_key.verify(certificate.signature, certificate.tbs_certificate_bytes,
                                 padding.PKCS1v15(), certificate.signature_hash_algorithm)
    elif isinstance(issuer_public_key, ed25519.Ed25519PublicKey):
        issuer_public_key.verify(certificate.signature, certificate.tbs_certificate_bytes)
    else:
        raise EngineError("unsupported CA key %s" % type(issuer_public_key).__name__)
    return algorithm


def _server_exchange(tls):
    """The server's side of step 8: read the request, answer, count the bytes."""
    request = b""
    while not request.endswith(b"\r\n\r\n"):
        data = tls.recv(4096)
        if not data:
            break
        request += data
    sent_before = tls.bytes_sent
    tls.sendall(_SERVER_MESSAGE)
    wire_out = tls.bytes_sent - sent_before
    # Wait for the client's close_notify so the connection ends cleanly on both sides.
    tls.recv(1)
    return request, wire_out


def _refusal(exc: BaseException) -> str:
    if isinstance(exc, ProtocolError):
        reason = getattr(exc, "reason", None)
        return "client sent alert %s%s" % (
            exc.alert.name, ", verify reason: %s" % reason if reason else "")
    if isinstance(exc, PeerAlertError):
        return "alert %s from the client" % getattr(exc.description, "name", exc.description)
    return "%s: %s" % (type(exc).__name__, exc)


def run(args) -> int:
    from ..pki import KEY_TYPES

    if args.key_type not in KEY_TYPES:
        raise UsageError("unknown key type %r; expected one of %s"
                         % (args.key_type, ", ".join(KEY_TYPES)))
    from ..tls import CIPHER_SUITES, GROUPS

    if args.group not in GROUPS:
        raise UsageError("unknown group %r; expected one of %s" % (args.group, ", ".join(GROUPS)))
    if args.cipher_suite is not None and args.cipher_suite not in CIPHER_SUITES:
        raise UsageError("unknown cipher suite %r; expected one of %s"
                         % (args.cipher_suite, ", ".join(CIPHER_SUITES)))
    with tempfile.TemporaryDirectory(prefix="engine-demo-") as workdir:
        return Demo(args, workdir, _Printer(sys.stdout)).run()


class Demo:
    # made by setup(): the CA, the server's KeyStore, the client's trust and CRL, and the
    # certificates the client must refuse
    ca: CertificateAuthority
    server_keystore: KeyStore
    trust: TrustStore
    crl: RevocationList
    revoked_keystore: KeyStore
    stranger_keystore: KeyStore

    def __init__(self, args, workdir: str, out: _Printer):
        self.args = args
        self.workdir = workdir
        self.out = out
        self.failures: list[str] = []

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.failures.append(what)

    def run(self) -> int:
        from .. import __version__
        from .._backend import resolve

        started = time.monotonic()
        out = self.out
        out.line("engine %s demo: TLS 1.3 with a CA, a KeyStore and a CRL on 127.0.0.1 "
                 "(backend: %s)" % (__version__, resolve()))
        out.line()
        self.setup()
        out.line()
        self.good_connection()
        out.line()
        out.line("The same client refuses what it must not trust:")
        self.refuse("revoked", self.revoked_keystore, "certificate_revoked")
        self.refuse("untrusted CA", self.stranger_keystore, "unknown_ca")
        out.line()
        if self.failures:
            for failure in self.failures:
                out.line("FAILED: %s" % failure)
            return 1
        out.line("All steps passed in %.1f s." % (time.monotonic() - started))
        out.line()
        out.line("The same scenario in a browser, Adam's admin console over engine's TLS:")
        out.line("  engine console init DIR && engine console run DIR   "
                 "(README: \"The admin console\")")
        return 0

    # --- the PKI --------------------------------------------------------------------------------

    def setup(self) -> None:
        from ..pki import CertificateAuthority, KeyStore, RevocationList, TrustStore

        out, workdir = self.out, self.workdir
        ca = CertificateAuthority.create_root("engine demo Root CA", key_type="p256",
                                              validity_days=30)
        self.ca = ca
        leaf = ca.issue_server(["localhost", "127.0.0.1", "::1"], key_type=self.args.key_type,
                               validity_days=1)
        revoked = ca.issue_server(["localhost"], key_type=self.args.key_type, validity_days=1)
        ca.revoke(revoked.certificate.serial_number)
        crl_path = os.path.join(workdir, "ca.crl.pem")
        ca.crl(validity_days=1).save(crl_path)
        trust_path = os.path.join(workdir, "ca.pem")
        with open(trust_path, "wb") as fh:
            fh.write(TrustStore([ca.certificate]).to_pem())
        out.step("", "CA", "%s (%s), self-signed, CA:TRUE"
                 % (name_of(ca.certificate.subject), key_description(ca.certificate.public_key())))

        keystore_path = os.path.join(workdir, "server.p12")
        password = secrets.token_urlsafe(18).encode()
        leaf.keystore().save(keystore_path, password)
        out.step("", "KeyStore", "%s: %s key and certificate for localhost, PKCS#12 "
                 "(AES-256-CBC, PBKDF2), password of %d random characters (not shown)"
                 % (os.path.basename(keystore_path), self.args.key_type, len(password)))

        # The server opens its KeyStore with the password; a wrong one is refused.
        try:
            KeyStore.load(keystore_path, b"not the password")
        except KeyStoreError as exc:
            wrong = "refused (%s)" % type(exc).__name__
        else:
            wrong = "ACCEPTED"
        self.expect(wrong != "ACCEPTED", "the KeyStore opened with a wrong password")
        opened = time.monotonic()
        self.server_keystore = KeyStore.load(keystore_path, password)
        out.step("", "server", "opens %s with its password: ok in %.0f ms (%s key, %s); "
                 "with a wrong password: %s"
                 % (os.path.basename(keystore_path), (time.monotonic() - opened) * 1000,
                    self.server_keystore.key_type, name_of(self.server_keystore.certificate.subject),
                    wrong))

        self.trust = TrustStore.from_pem(trust_path)
        self.crl = RevocationList.load(crl_path)
        out.step("", "client", "TrustStore %s: %d CA; CRL %s: number %s, %d revoked entr%s"
                 % (os.path.basename(trust_path), len(self.trust), os.path.basename(crl_path),
                    self.crl.crl_number, len(self.crl), "y" if len(self.crl) == 1 else "ies"))

        self.revoked_keystore = revoked.keystore()
        stranger_ca = CertificateAuthority.create_root("Unknown Root CA", key_type="p256",
                                                       validity_days=30)
        self.stranger_keystore = stranger_ca.issue_server(["localhost"], validity_days=1).keystore()

    def client_config(self):
        from ..tls import ClientConfig

        options = {"groups": (self.args.group,), "key_share_groups": (self.args.group,)}
        if self.args.cipher_suite:
            options["cipher_suites"] = (self.args.cipher_suite,)
        return ClientConfig(trust=self.trust, crls=[self.crl], **options)

    def server_config(self, keystore):
        from ..tls import ServerConfig

        return ServerConfig(certificates=[keystore])

    # --- the eight steps ------------------------------------------------------------------------

    def good_connection(self) -> None:
        from ..blocking import connect

        out = self.out
        listener = _Listener(self.server_config(self.server_keystore), _server_exchange)
        try:
            port = listener.port
            out.line("server listening on 127.0.0.1:%d" % port)
            resolved = sorted({str(info[4][0]) for info in socket.getaddrinfo(
                "localhost", port, socket.AF_INET, socket.SOCK_STREAM)})
            tls = connect("localhost", port, self.client_config(), timeout=_TIMEOUT)
            with tls:
                peer = tls.getpeername()
                out.step(1, "connect", "client resolves localhost -> %s and connects to %s:%d "
                         "(SNI and certificate name: localhost)"
                         % (", ".join(resolved), peer[0], peer[1]))
                self.describe_handshake(tls)
                self.exchange(tls, listener)
        finally:
            listener.close()

    def describe_handshake(self, tls) -> None:
        out, hs = self.out, tls.handshake
        leaf = hs.peer_chain[0]
        out.step(2, "certificate", "server sent %s, issued by %s, key %s, serial %#x"
                 % (name_of(leaf.subject), name_of(leaf.issuer),
                    key_description(leaf.public_key()), leaf.serial_number),
                 "verified chain: %s" % " <- ".join(name_of(c.subject) for c in hs.peer_chain))
        anchors = self.trust.find_by_subject(leaf.issuer)
        self.expect(bool(anchors), "the issuer is not in the TrustStore")
        if anchors:
            algorithm = _verify_certificate_signature(leaf, anchors[0].public_key())
            out.step(3, "signature", "client checks the %s signature with the public key of %s "
                     "from its TrustStore: valid; name localhost matches; within validity"
                     % (algorithm, name_of(anchors[0].subject)))
        out.step(4, "key exchange", "%s key shares, cipher suite %s"
                 % (_group_description(hs.group), hs.cipher_suite))
        out.step(5, "server key", "the private key opened from the KeyStore signs the handshake "
                 "(CertificateVerify, %s); the client verifies it with the certificate's "
                 "public key: valid" % hs.signature_scheme)
        out.step(6, "session keys", "handshake and application traffic keys derived by the "
                 "TLS 1.3 key schedule (HKDF-%s); both Finished messages verified"
                 % _hash_of(hs.cipher_suite))
        entry = self.crl.lookup(leaf.serial_number)
        self.crl.check(self.ca.certificate)
        self.expect(entry is None, "the good certificate is listed in the CRL")
        next_update = self.crl.next_update  # the demo's CA always sets one
        out.step(7, "revocation", "CRL number %s from %s (signature valid, next update %s) "
                 "lists %d revoked serial%s; the server's serial %#x %s"
                 % (self.crl.crl_number, name_of(self.crl.issuer),
                    next_update.strftime("%Y-%m-%d %H:%M UTC") if next_update else "none",
                    len(self.crl),
                    "" if len(self.crl) == 1 else "s", leaf.serial_number,
                    "is not among them -> good" if entry is None else "is REVOKED"))

    def exchange(self, tls, listener: _Listener) -> None:
        sent_before = tls.bytes_sent
        tls.sendall(_CLIENT_MESSAGE)
        client_wire_out = tls.bytes_sent - sent_before
        reply = tls.recv_exactly(len(_SERVER_MESSAGE))
        tls.close()
        request, server_wire_out = listener.results.get(timeout=_TIMEOUT)
        self.expect(request == _CLIENT_MESSAGE, "the server did not get the client's bytes")
        self.expect(reply == _SERVER_MESSAGE, "the client did not get the server's bytes")
        self.out.step(8, "data", "client -> server: %d bytes of plaintext in %d bytes of records "
                      "on the wire; the server decrypted %d bytes"
                      % (len(_CLIENT_MESSAGE), client_wire_out, len(request)),
                      "server -> client: %d bytes of plaintext in %d bytes of records "
                      "on the wire; the client decrypted %d bytes"
                      % (len(_SERVER_MESSAGE), server_wire_out, len(reply)),
                      "(the whole connection, handshake, session tickets and close_notify "
                      "included: the client sent %d bytes and received %d)"
                      % (tls.bytes_sent, tls.bytes_received))

    # --- refusals -------------------------------------------------------------------------------

    def refuse(self, label: str, keystore, alert: str) -> None:
        from ..blocking import connect

        listener = _Listener(self.server_config(keystore))
        client_side: ProtocolError | PeerAlertError | None
        try:
            try:
                tls = connect("localhost", listener.port, self.client_config(),
                              timeout=_TIMEOUT)
            except (ProtocolError, PeerAlertError) as exc:
                client_side = exc
            else:
                tls.close()
                client_side = None
            try:
                server_side = listener.errors.get(timeout=_TIMEOUT)
            except queue.Empty:
                server_side = None
        finally:
            listener.close()
        if client_side is None:
            self.expect(False, "the client accepted the %s certificate" % label)
            self.out.step("", label, "ACCEPTED (wrong)")
            return
        self.expect(isinstance(client_side, ProtocolError) and client_side.alert.name == alert,
                    "the %s certificate was refused with %s, not %s"
                    % (label, _refusal(client_side), alert))
        self.out.step("", label, "refused: %s" % _refusal(client_side),
                      "the server saw: %s" % (_refusal(server_side) if server_side else "-"))


def _group_description(group: str) -> str:
    return {
        "x25519": "x25519 (ECDHE over Curve25519)",
        "secp256r1": "secp256r1 (ECDHE over P-256)",
        "secp384r1": "secp384r1 (ECDHE over P-384)",
        "X25519MLKEM768": "X25519MLKEM768 (hybrid ECDHE + ML-KEM-768)",
    }.get(group, group)


def _hash_of(suite: str) -> str:
    return "SHA384" if suite.endswith("SHA384") else "SHA256"

