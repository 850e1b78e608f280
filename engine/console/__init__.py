"""The administration console: Adam's browser, the engine's TLS, and the PKI behind them.

``engine console init DIR`` makes a console directory (:mod:`.store`): a CA, a server
certificate for admin.localhost, localhost, 127.0.0.1 and ::1 in a password-protected KeyStore,
and the first administrator. ``engine console run DIR`` serves the Starlette application of
:mod:`.app` over engine's TLS (:mod:`engine.asgi`). Modules: ``store`` (the directory),
``certificates`` (issuing, revoking, the CRL and the TLS settings), ``security`` (sessions,
CSRF, limits, headers), ``throttle`` (failed logins), ``audit`` (the audit log), ``app`` (routes
and handlers, templates in ``templates/``, styles and the chart script in ``static/``).
"""

from __future__ import annotations

from .store import ConsoleDirectory, ConsoleError

__all__ = ["ConsoleDirectory", "ConsoleError", "build", "make_server"]


def build(directory, *, client_certificates: bool = False, throttle=None):
    """The console's ASGI application and its shared state for an opened directory."""
    from .app import Console, create_app
    from .certificates import ConsoleCA

    console = Console(directory, ConsoleCA(directory, client_certificates=client_certificates),
                      throttle=throttle)
    return create_app(console), console


def make_server(directory, host: str | None = "localhost", port: int = 8443, *,
                client_certificates: bool = False, throttle=None, **options):
    """An :class:`engine.asgi.Server` for the console (call ``await server.serve()``)."""
    from ..asgi import Server

    app, console = build(directory, client_certificates=client_certificates, throttle=throttle)
    server = Server(app, console.ca.server_config, host, port, **options)
    console.server = server
    return server
