"""``engine console``: the administration console, made with ``init`` and served with ``run``."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util

from ._common import UsageError, add_password_options, read_password
from ._tls_options import checked_port

_EXTRA = ("starlette", "jinja2", "uvicorn", "itsdangerous", "python_multipart")
_DESCRIPTION = """\
The administration console: a web application over engine's TLS 1.3.

  engine console init DIR [--admin NAME]   make DIR: a CA, the server certificate (for
                                           admin.localhost, localhost, 127.0.0.1, ::1) in a
                                           KeyStore, and the first administrator
  engine console run DIR [--host H] [--port P] [--client-certificates]
                                           serve it (default: localhost, IPv4 and IPv6, 8443)

Import DIR/ca/ca.pem into the browser as a trusted authority, then open
https://admin.localhost:8443/. The CA password is asked once (or read with --password-file /
--password-env) and kept in memory only."""


def register(commands) -> None:
    parser = commands.add_parser("console", help="the administration console (init, run)",
                                 description=_DESCRIPTION,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="console_command", metavar="ACTION")
    actions.required = True

    init = actions.add_parser("init", help="make a console directory",
                              description="Make a console directory: its CA, server "
                                          "certificate and first administrator.")
    init.add_argument("dir", metavar="DIR")
    init.add_argument("--admin", default="adam", help="the first administrator (default: adam)")
    add_password_options(init, "administrator's password")
    group = init.add_mutually_exclusive_group()
    group.add_argument("--ca-password-file", metavar="FILE",
                       help="read the CA password (protects the CA and server keys) from FILE")
    group.add_argument("--ca-password-env", metavar="VAR",
                       help="read the CA password from environment variable VAR")
    init.add_argument("--rounds", type=int, default=12, metavar="N",
                      help="bcrypt cost of the administrator's password (default: 12)")
    init.set_defaults(handler=run_init)

    serve = actions.add_parser("run", help="serve the console",
                               description="Serve the console over engine's TLS 1.3.")
    serve.add_argument("dir", metavar="DIR")
    serve.add_argument("--host", default="localhost",
                       help="address or name to listen on (default: localhost, on 127.0.0.1 "
                            "and ::1; '::' for every address, IPv4 and IPv6)")
    serve.add_argument("--port", default=8443, help="port to listen on (0: any free port)")
    serve.add_argument("--client-certificates", action="store_true",
                       help="mutual TLS: ask browsers for a certificate of the console's CA, "
                            "checked against its CRL on every handshake; one whose name is an "
                            "administrator's logs its holder in")
    add_password_options(serve, "CA password")
    serve.set_defaults(handler=run_run)


def _need_extra() -> None:
    missing = [name for name in _EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError("the console needs %s: pip install 'engine[console]'"
                         % ", ".join(missing))


def run_init(args) -> int:
    _need_extra()
    from ..console import ConsoleDirectory

    ca_args = argparse.Namespace(password_file=args.ca_password_file,
                                 password_env=args.ca_password_env)
    ca_password = read_password(ca_args, prompt="CA password (protects the console's keys): ",
                                confirm=True)
    admin_password = read_password(args, prompt="Password for %s: " % args.admin, confirm=True)
    directory = ConsoleDirectory.init(args.dir, ca_password, args.admin, admin_password,
                                      bcrypt_rounds=args.rounds)
    print("made the console in %s" % directory.path)
    print("administrator: %s" % args.admin)
    print("import this CA certificate into your browser as a trusted authority:")
    print("  %s" % directory.ca_certificate_path)
    print("then run: engine console run %s" % args.dir)
    return 0


def run_run(args) -> int:
    _need_extra()
    from ..asgi import bind_sockets
    from ..console import ConsoleDirectory, make_server

    port = checked_port(args.port)
    ConsoleDirectory.check(args.dir)  # before asking for the password
    password = read_password(args, prompt="CA password: ")
    directory = ConsoleDirectory.open(args.dir, password)
    del password
    try:
        sockets = bind_sockets(args.host, port)
    except OSError as exc:
        raise UsageError("cannot listen on %s:%s: %s" % (args.host, port, exc.strerror or exc))
    server = make_server(directory, args.host, port,
                         client_certificates=args.client_certificates)
    chosen = sockets[0].getsockname()[1]
    where = ", ".join(_address(s) for s in sockets)
    name = "admin.localhost" if args.host in ("localhost", "::", "0.0.0.0") else args.host
    print("engine console: https://%s:%d/ (listening on %s)"
          % ("[%s]" % name if ":" in name else name, chosen, where), flush=True)
    directory.audit.record(None, "console started", listening=where,
                           client_certificates=args.client_certificates)
    try:
        asyncio.run(server.serve(sockets))
    finally:
        directory.audit.record(None, "console stopped")
    return 0


def _address(sock) -> str:
    host, port = sock.getsockname()[:2]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
