"""``engine serve-asgi``: any ASGI application over engine's TLS (uvicorn's HTTP/1.1 protocol).

Takes the certificate options of ``engine s_server``; ``--host`` and ``--port`` as there, except
that the host defaults to localhost on both 127.0.0.1 and ::1 and ``::`` takes IPv4 and IPv6.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys

from ._common import UsageError, add_password_options
from ._tls_options import add_parameter_options, checked_port
from .s_server import add_resumption_options


def register(commands) -> None:
    parser = commands.add_parser(
        "serve-asgi", help="serve an ASGI application (module:app) over engine's TLS",
        description="Serve an ASGI application over TLS 1.3 with engine; uvicorn's h11 "
                    "protocol does the HTTP/1.1.")
    parser.add_argument("app", metavar="MODULE:APP", help="the application, as uvicorn names it")
    parser.add_argument("--cert", metavar="FILE", help="PEM certificate chain, leaf first")
    parser.add_argument("--key", metavar="FILE", help="PEM private key of --cert")
    parser.add_argument("--keystore", metavar="FILE.p12",
                        help="password-protected PKCS#12 KeyStore (instead of --cert/--key)")
    add_password_options(parser, "KeyStore or key password")
    parser.add_argument("--host", default="localhost",
                        help="address or name to listen on (default: localhost, IPv4 and IPv6)")
    parser.add_argument("--port", default=8443, help="port to listen on (0: any free port)")
    parser.add_argument("--verify-client", choices=("none", "request", "require"),
                        default="none", help="ask for a client certificate (needs --trust)")
    parser.add_argument("--app-dir", default=".", metavar="DIR",
                        help="directory to import the application from (default: .)")
    add_resumption_options(parser)
    add_parameter_options(parser)
    parser.set_defaults(handler=run, alpn="http/1.1", cert2=None, key2=None)


def load_app(name: str, app_dir: str):
    from uvicorn.importer import ImportFromStringError, import_from_string

    sys.path.insert(0, os.path.abspath(app_dir))
    try:
        return import_from_string(name)
    except ImportFromStringError as exc:
        raise UsageError(str(exc).splitlines()[0])


def run(args) -> int:
    if importlib.util.find_spec("uvicorn") is None:
        raise UsageError("serve-asgi needs uvicorn: pip install 'engine[console]'")
    from ..asgi import Server, bind_sockets
    from .s_server import build_config

    port = checked_port(args.port)
    app = load_app(args.app, args.app_dir)
    config = build_config(args)
    try:
        sockets = bind_sockets(args.host, port)
    except OSError as exc:
        raise UsageError("cannot listen on %s:%s: %s" % (args.host, port, exc.strerror or exc))
    server = Server(app, config, args.host, port)
    print("serving %s on %s" % (args.app, ", ".join(_where(s) for s in sockets)), flush=True)
    asyncio.run(server.serve(sockets))
    return 0


def _where(sock) -> str:
    host, port = sock.getsockname()[:2]
    return "https://%s:%d/" % ("[%s]" % host if ":" in host else host, port)
