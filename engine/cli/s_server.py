"""``engine s_server``: a TLS 1.3 test server, in the manner of ``openssl s_server``.

Serves many connections at once (a thread each) until SIGINT or SIGTERM. Without ``--www`` it
echoes what each client sends; with it, it answers every HTTP request on a connection with a
small HTML page naming the protocol, cipher suite, group and the client's certificate (HTTP
read and written by h11).
Prints ``ACCEPT host:port`` on stdout for each address it listens on (``[::]:4433`` for IPv6),
and one line per connection on stderr. Stopping sends close_notify to every open connection at
once and closes those still open two seconds later, however many there are.
"""

from __future__ import annotations

import html
import http
import signal
import sys
import threading

import h11

from .._listen import format_address
from ..errors import PeerAlertError, ProtocolError, TLSEOFError
from ._common import UsageError, add_password_options
from ._tls_options import (
    add_parameter_options, checked_port, keylog_file, load_crls, load_keystore,
    load_trust, name_of, open_keystore, parameter_choices, split_list, summary_line,
)

_MAX_REQUEST_HEAD = 16384
_MAX_TIMEOUT = 10 ** 6  # seconds; keeps NaN and infinity out
_DRAIN_TIMEOUT = 2.0  # seconds open connections get to end when the server stops


def register(commands) -> None:
    parser = commands.add_parser("s_server", help="run a TLS 1.3 test server (echo or --www)")
    parser.add_argument("--cert", metavar="FILE", help="PEM certificate chain, leaf first")
    parser.add_argument("--key", metavar="FILE", help="PEM private key of --cert")
    parser.add_argument("--keystore", metavar="FILE.p12",
                        help="password-protected PKCS#12 KeyStore (instead of --cert/--key)")
    parser.add_argument("--cert2", metavar="FILE", help="a second certificate (another key type)")
    parser.add_argument("--key2", metavar="FILE", help="private key of --cert2")
    add_password_options(parser, "KeyStore or key password")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address or name to listen on (:: is IPv6 and IPv4 where the "
                             "system allows it; a name listens on each of its addresses)")
    parser.add_argument("--port", default=4433, help="port to listen on (0: any free port)")
    parser.add_argument("--verify-client", choices=("none", "request", "require"),
                        default="none", help="ask for a client certificate")
    parser.add_argument("--www", action="store_true",
                        help="answer HTTP requests with a page describing the connection "
                             "(ALPN http/1.1 unless --alpn says otherwise)")
    parser.add_argument("--max-connections", type=int, metavar="N",
                        help="stop after N connections")
    add_resumption_options(parser)
    parser.add_argument("--max-concurrent", type=int, default=512, metavar="N",
                        help="connections served at once; more wait (default 512)")
    parser.add_argument("--idle-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="close a connection idle this long after its handshake "
                             "(default 300; the handshake itself has 60)")
    add_parameter_options(parser)
    parser.set_defaults(handler=run)


def add_resumption_options(parser) -> None:
    """The session ticket and 0-RTT options of a server command."""
    parser.add_argument("--num-tickets", type=int, default=2, metavar="N",
                        help="session tickets sent after a full handshake (default 2; 0: none)")
    parser.add_argument("--ticket-lifetime", type=int, default=7200, metavar="SECONDS",
                        help="how long a ticket can be resumed (default 7200, at most 604800)")
    parser.add_argument("--ticket-keys", metavar="FILE",
                        help="ticket key file shared by servers that resume each other's "
                             "tickets: one secret of 64 hex digits a line, the first seals "
                             "(default: random keys of this process)")
    parser.add_argument("--max-early-data", type=int, default=0, metavar="BYTES",
                        help="accept this much 0-RTT data from resuming clients (default 0: "
                             "none); it can be replayed, so only for idempotent requests")
    parser.add_argument("--no-anti-replay", action="store_true",
                        help="with --max-early-data: accept replayed 0-RTT data (testing only)")


def build_config(args):
    from ..tls import ServerConfig

    certificates = []
    if args.keystore:
        certificates.append(open_keystore(args.keystore, args))
    if args.cert or args.key:
        certificates.append(load_keystore(args.cert, args.key, args))
    if args.cert2 or args.key2:
        certificates.append(load_keystore(args.cert2, args.key2, args))
    if not certificates:
        raise UsageError("a server certificate is needed: --cert and --key, or --keystore")
    trust = load_trust(args.trust)
    if args.verify_client != "none" and trust is None:
        raise UsageError("--verify-client %s needs --trust" % args.verify_client)
    return ServerConfig(
        certificates=certificates, trust=trust, crls=load_crls(args.crl),
        verify_client=args.verify_client, alpn_protocols=_alpn(args),
        keylog_file=keylog_file(), **resumption_options(args), **parameter_choices(args))


def resumption_options(args) -> dict:
    """Tickets and 0-RTT from --num-tickets, --ticket-lifetime, --ticket-keys,
    --max-early-data and --no-anti-replay."""
    from ..errors import LocalProtocolError
    from ..tls import TicketKeys

    if not 0 <= args.num_tickets <= 16:
        raise UsageError("--num-tickets must be 0 to 16")
    if not 1 <= args.ticket_lifetime <= 604800:
        raise UsageError("--ticket-lifetime must be 1 to 604800 seconds (7 days)")
    if not 0 <= args.max_early_data <= 0xFFFFFFFF:
        raise UsageError("--max-early-data must be 0 to 4294967295 bytes")
    if args.no_anti_replay and not args.max_early_data:
        raise UsageError("--no-anti-replay goes with --max-early-data")
    options = {"ticket_count": args.num_tickets, "ticket_lifetime": args.ticket_lifetime,
               "max_early_data": args.max_early_data}
    if args.no_anti_replay:
        options["anti_replay"] = False
    if args.ticket_keys:
        try:
            options["ticket_keys"] = TicketKeys.from_file(args.ticket_keys)
        except LocalProtocolError as exc:
            raise UsageError("--ticket-keys: %s" % exc)
    return options


def _alpn(args) -> tuple:
    """--alpn as given; with --www and no --alpn, http/1.1 (what the page speaks)."""
    protocols = split_list(args.alpn)
    if not protocols and args.www:
        return ("http/1.1",)
    return protocols


def run(args) -> int:
    from ..blocking import Server

    port = checked_port(args.port)
    if args.max_connections is not None and args.max_connections < 1:
        raise UsageError("--max-connections must be at least 1")
    if args.max_concurrent < 1:
        raise UsageError("--max-concurrent must be at least 1")
    if not 0 < args.idle_timeout <= _MAX_TIMEOUT:
        raise UsageError("--idle-timeout must be positive (at most %d seconds)" % _MAX_TIMEOUT)
    if args.www and "h2" in split_list(args.alpn):
        raise UsageError("--www speaks HTTP/1.1 only: leave h2 out of --alpn")
    config = build_config(args)
    handler = serve_www if args.www else serve_echo
    log_lock = threading.Lock()

    def say(line: str) -> None:
        with log_lock:
            print(line, file=sys.stderr, flush=True)

    def on_connection(tls) -> None:
        peer = format_address(tls.getpeername())
        client = tls.peer_certificate
        say("%s: %s, client %s%s" % (peer, summary_line(tls.handshake),
                                     name_of(client.subject) if client is not None else "-",
                                     session_words(tls.handshake)))
        handler(tls)

    def on_error(address, exc) -> None:
        say("%s: %s" % (format_address(address), failure_line(exc)))

    try:
        server = Server(args.host, port, config, on_connection, on_error=on_error,
                        idle_timeout=args.idle_timeout, max_concurrent=args.max_concurrent)
    except OSError as exc:
        raise UsageError("cannot listen on %s:%s: %s" % (args.host, port, exc.strerror or exc))
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        for address in server.addresses:
            print("ACCEPT %s" % format_address(address), flush=True)
        count = server.serve_forever(stop=stop, max_connections=args.max_connections,
                                     drain_timeout=_DRAIN_TIMEOUT)
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)
    say("engine s_server: stopped after %d connection%s" % (count, "" if count == 1 else "s"))
    return 0


def session_words(handshake) -> str:
    """", resumed" for a resumed session, with what became of the client's 0-RTT data."""
    words = ", resumed" if handshake.resumed else ""
    if handshake.early_data_accepted is not None:
        words += ", 0-RTT %s" % ("accepted" if handshake.early_data_accepted else "refused")
    return words


def failure_line(exc: BaseException) -> str:
    """One line for a connection that failed: the alert, who sent it, and why."""
    if isinstance(exc, PeerAlertError):
        return "the client sent alert %s" % getattr(exc.description, "name", exc.description)
    if isinstance(exc, TLSEOFError):
        return "connection ended: %s" % exc
    if isinstance(exc, ProtocolError):
        reason = getattr(exc, "reason", None)
        return "sent alert %s%s: %s" % (exc.alert.name,
                                        " (verify reason: %s)" % reason if reason else "", exc)
    return "connection failed: %s: %s" % (type(exc).__name__, exc)


def serve_echo(tls) -> None:
    """Send back what the client sends, until it closes."""
    while True:
        data = tls.recv(65536)
        if not data:
            return
        tls.sendall(data)


def serve_www(tls) -> None:
    """Answer each HTTP/1.x request on the connection with 200 OK and the connection's page.

    h11 reads the requests (keep-alive, pipelining, HTTP/1.0 and request bodies as RFC 9112
    has them) and frames the responses; a request h11 refuses gets the status it suggests (400,
    or 431 for a head over 16 KiB), a method other than GET and HEAD 405, and the connection
    closes after either.
    """
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_REQUEST_HEAD)
    ended = False
    while True:
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError as exc:
            if not ended and connection.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                _respond(tls, connection, exc.error_status_hint, "%s\n" % exc, close=True)
            return
        if event is h11.NEED_DATA:
            data = tls.recv(65536)
            ended = not data  # the client closed (in the middle of a request, h11 says)
            connection.receive_data(data)
        elif isinstance(event, h11.Request):
            if event.method not in (b"GET", b"HEAD"):
                _respond(tls, connection, 405, "only GET and HEAD\n", close=True)
                return
            _respond(tls, connection, 200, page(tls), content_type="text/html; charset=utf-8",
                     head_only=event.method == b"HEAD")
            if connection.our_state is h11.MUST_CLOSE:  # Connection: close, or HTTP/1.0
                return
        elif isinstance(event, h11.EndOfMessage):
            connection.start_next_cycle()
        elif isinstance(event, h11.ConnectionClosed):
            return
        # h11.Data: a request body, read and left aside


def _respond(tls, connection, status: int, body: str, *, close: bool = False,
             head_only: bool = False, content_type: str = "text/plain; charset=utf-8") -> None:
    """Send one whole response: its head only for a HEAD request (RFC 9110 9.3.2), with the
    Content-Length a GET would have."""
    payload = body.encode()
    headers = [("Content-Type", content_type), ("Content-Length", str(len(payload)))]
    if close:
        headers.append(("Connection", "close"))
    out = connection.send(h11.Response(status_code=status, headers=headers,
                                       reason=http.HTTPStatus(status).phrase))
    if payload and not head_only:
        out += connection.send(h11.Data(data=payload))
    out += connection.send(h11.EndOfMessage())
    tls.sendall(out)


def page(tls) -> str:
    """The page --www serves: what this connection negotiated, as openssl s_server -www does."""
    hs = tls.handshake
    client = tls.peer_certificate
    rows = [
        ("Protocol", "TLSv1.3"),
        ("Cipher suite", hs.cipher_suite),
        ("Group", hs.group),
        ("Signature scheme", hs.signature_scheme or "-"),
        ("ALPN", hs.alpn_protocol or "-"),
        ("Server name (SNI)", hs.server_name or "-"),
        ("Session", "resumed" if hs.resumed else "new"),
        ("Peer certificate", name_of(client.subject) if client is not None
         else "no client certificate"),
    ]
    if client is not None:
        rows.append(("Peer certificate issuer", name_of(client.issuer)))
    cells = "\n".join("<tr><th>%s</th><td>%s</td></tr>" % (html.escape(k), html.escape(str(v)))
                      for k, v in rows)
    return ("<!DOCTYPE html>\n<html><head><title>engine s_server</title></head><body>\n"
            "<h1>engine s_server</h1>\n<table>\n%s\n</table>\n</body></html>\n" % cells)
