"""``engine s_client``: a TLS 1.3 test client, in the manner of ``openssl s_client``.

Connects, prints the handshake summary and the verified chain on stderr, sends standard input
and prints what comes back on standard output. After standard input ends it keeps reading until
the server closes or has been quiet for ``--idle-timeout`` seconds. A failed handshake prints
its reason (the alert and the verification reason) and exits 1.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from .._listen import format_address
from ..errors import PeerAlertError, ProtocolError, TLSError
from ..verify.api import usable_name
from ._common import UsageError, add_password_options
from ._tls_options import (
    add_parameter_options, chain_lines, checked_names, keylog_file, load_crls, load_keystore,
    load_trust, open_keystore, parameter_choices, parse_host_port, split_list, summary_line,
)


_MAX_TIMEOUT = 10 ** 6  # seconds; also keeps NaN and infinity out (socket.settimeout refuses them)


def register(commands) -> None:
    parser = commands.add_parser("s_client", help="connect to a TLS 1.3 server")
    parser.add_argument("address", metavar="HOST:PORT", help="server to connect to")
    parser.add_argument("--name", metavar="NAME",
                        help="server name for SNI and the certificate check (default: HOST)")
    parser.add_argument("--cert", metavar="FILE", help="client certificate chain (mutual TLS)")
    parser.add_argument("--key", metavar="FILE", help="private key of --cert")
    parser.add_argument("--keystore", metavar="FILE.p12",
                        help="client KeyStore (instead of --cert/--key)")
    add_password_options(parser, "KeyStore or key password")
    parser.add_argument("--key-share", metavar="LIST",
                        help="groups to send key shares for in the first ClientHello")
    parser.add_argument("--no-verify", action="store_true",
                        help="do not verify the server's certificate (testing only)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="connect and handshake timeout (default 10)")
    parser.add_argument("--idle-timeout", type=float, default=1.0, metavar="SECONDS",
                        help="after stdin ends, wait this long for more data (default 1)")
    parser.add_argument("--sess-out", metavar="FILE",
                        help="save the session of the server's last ticket to FILE (it holds a "
                             "secret: written readable by its owner only)")
    parser.add_argument("--sess-in", metavar="FILE",
                        help="resume the session saved in FILE by --sess-out")
    add_parameter_options(parser)
    parser.set_defaults(handler=run)


def build_config(args):
    from ..tls import GROUPS, ClientConfig

    trust = load_trust(args.trust)
    if trust is None and not args.no_verify:
        raise UsageError("--trust CA.pem is needed to verify the server (or --no-verify)")
    certificate = None
    if args.keystore:
        certificate = open_keystore(args.keystore, args)
    elif args.cert or args.key:
        certificate = load_keystore(args.cert, args.key, args)
    options = parameter_choices(args)
    groups = options.get("groups")
    shares = checked_names(args.key_share, GROUPS, "key-share")
    if shares:
        options["key_share_groups"] = shares
    elif groups:
        options["key_share_groups"] = groups[:1]
    return ClientConfig(
        trust=trust, server_name=args.name, crls=load_crls(args.crl),
        alpn_protocols=split_list(args.alpn), certificate=certificate,
        verify=not args.no_verify, keylog_file=keylog_file(), **options)


def failure_reason(exc: BaseException) -> str:
    """One line: which alert ended the handshake, who sent it, and why."""
    if isinstance(exc, PeerAlertError):
        return "the server sent alert %s" % getattr(exc.description, "name", exc.description)
    if isinstance(exc, ProtocolError):
        reason = getattr(exc, "reason", None)
        return "alert %s sent to the server%s: %s" % (
            exc.alert.name, " (verify reason: %s)" % reason if reason else "", exc)
    return "%s: %s" % (type(exc).__name__, exc)


def run(args) -> int:
    from ..blocking import connect

    host, port = parse_host_port(args.address)
    if not 0 < args.timeout < _MAX_TIMEOUT or not 0 <= args.idle_timeout <= _MAX_TIMEOUT:
        raise UsageError("--timeout must be positive and --idle-timeout not negative "
                         "(both at most %d seconds)" % _MAX_TIMEOUT)
    if args.name is not None and not usable_name(args.name):
        raise UsageError("--name %r is not a DNS name or IP address" % args.name)
    config = build_config(args)
    if args.sess_in:
        config.session_cache.add(read_session(args.sess_in))  # what connect() resumes
    try:
        tls = connect(host, port, config, server_name=args.name, timeout=args.timeout)
    except (TLSError, OSError) as exc:
        if isinstance(exc, (TLSError, ConnectionAbortedError)):
            print("engine s_client: handshake failed: %s" % failure_reason(exc), file=sys.stderr)
        else:
            print("engine s_client: cannot connect to %s: %s"
                  % (format_address((host, port)), exc.strerror or exc), file=sys.stderr)
        return 1
    with tls:
        print("CONNECTED to %s (%s)" % (tls.server_hostname, format_address(tls.getpeername())),
              file=sys.stderr)
        handshake = tls.handshake
        assert handshake is not None  # connect() returns once the handshake is complete
        print("%s, TLSv1.3" % ("Reused" if handshake.resumed else "New"), file=sys.stderr)
        print(summary_line(handshake), file=sys.stderr)
        print("verified chain:" if not args.no_verify else "peer chain (NOT verified):",
              file=sys.stderr)
        for line in chain_lines(tls.peer_chain, config.trust):
            print(line, file=sys.stderr)
        sys.stderr.flush()
        tls.settimeout(None)
        status = _relay(tls, args.idle_timeout)
        session = tls.session
        if args.sess_out:
            if session is None:
                print("engine s_client: the server sent no session ticket; %s not written"
                      % args.sess_out, file=sys.stderr)
            else:
                write_session(args.sess_out, session)
        return status


def read_session(path: str):
    """The session saved in ``path`` (--sess-in); a UsageError if it cannot be read."""
    from ..errors import LocalProtocolError
    from ..tls import Session

    try:
        with open(path, "rb") as fh:
            return Session.from_bytes(fh.read())
    except OSError as exc:
        raise UsageError("cannot read --sess-in %s: %s" % (path, exc.strerror or exc))
    except LocalProtocolError as exc:
        raise UsageError("--sess-in %s: %s" % (path, exc))


def write_session(path: str, session) -> None:
    """Save ``session`` to ``path`` (--sess-out), replacing it, readable by its owner only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(session.to_bytes())
    except OSError as exc:
        print("engine s_client: cannot write --sess-out %s: %s" % (path, exc.strerror or exc),
              file=sys.stderr)


def _relay(tls, idle_timeout: float) -> int:
    """Standard input to the server, the server's data to standard output."""
    state: dict[str, Any] = {"last": time.monotonic(), "error": None}

    def read_server() -> None:
        out = sys.stdout.buffer
        try:
            while True:
                data = tls.recv(65536)
                if not data:
                    return
                state["last"] = time.monotonic()
                out.write(data)
                out.flush()
        except (TLSError, OSError) as exc:
            if not tls.closed or isinstance(exc, TLSError):
                state["error"] = exc

    def send_stdin() -> None:
        # os.read on the descriptor, not sys.stdin.buffer: this thread may still be blocked
        # reading when the command exits, and a daemon thread inside the buffered reader then
        # makes the interpreter abort at shutdown.
        fd = sys.stdin.fileno()
        try:
            while True:
                data = os.read(fd, 65536)
                if not data:
                    break
                tls.sendall(data)
        except BrokenPipeError:
            pass  # the server closed first: what it sent is still printed
        except (TLSError, OSError) as exc:
            if not tls.closed:
                state["error"] = state["error"] or exc
        finally:
            state["last"] = max(state["last"], time.monotonic())
            stdin_done.set()

    stdin_done = threading.Event()
    reader = threading.Thread(target=read_server, name="s_client-reader", daemon=True)
    writer = threading.Thread(target=send_stdin, name="s_client-writer", daemon=True)
    reader.start()
    writer.start()
    # Until the server closes, or stdin has ended and the server has been quiet a while.
    while reader.is_alive():
        if stdin_done.is_set() and time.monotonic() - state["last"] >= idle_timeout:
            break
        reader.join(0.05)
    tls.close()
    reader.join(5.0)
    if state["error"] is not None:
        print("engine s_client: %s" % failure_reason(state["error"]), file=sys.stderr)
        return 1
    return 0
