"""The administration console: a small table of routes and the handlers behind them.

Pages: this connection (``/``), certificates, administrators, server, audit; ``/crl.pem`` and
``/ca.pem`` are public. Logging in, CSRF and size limits are middleware (:mod:`.security`);
handlers only do the work and say what happened in the audit log.
"""

from __future__ import annotations

import os
import secrets

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..auth import MAX_NAME
from ..errors import AuthError, CAError
from ..pki.cadir import parse_serial
from .certificates import REASONS, RequestError
from .security import (
    MAX_SESSION_SECONDS, SESSION_COOKIE, AuthGate, FormGuard, SecurityHeaders, Sessions,
    client_certificate,
)
from .throttle import LoginThrottle

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_PASSWORD = 1024  # characters of a password field
MAX_UPLOAD = 64 * 1024
PQ_GROUPS = {"X25519MLKEM768": "post-quantum hybrid: X25519 with ML-KEM-768"}


class Console:
    """What the handlers share: the directory, its CA, sessions, throttle and the server."""

    def __init__(self, directory, console_ca, throttle: LoginThrottle | None = None):
        self.directory = directory
        self.ca = console_ca
        self.accounts = directory.accounts
        self.audit = directory.audit
        self.sessions = Sessions()
        self.throttle = throttle or LoginThrottle()
        self.server = None  # the engine.asgi.Server, once serving


def _console(request: Request) -> Console:
    return request.app.state.console


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"


def _field(form, name: str, limit: int = 256) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise HTTPException(400, "The field %s must be text." % name)
    if len(value) > limit:
        raise HTTPException(400, "The field %s is too long." % name)
    return value


def _flash(request: Request, message: str) -> None:
    request.session["flash"] = message


def _render(request: Request, name: str, status: int = 200, **context) -> Response:
    return request.app.state.templates.TemplateResponse(request, name, context,
                                                        status_code=status)


def _context(request: Request) -> dict:
    console = _console(request)
    sid = request.session.get("sid") or ""
    return {"user": getattr(request.state, "user", None),
            "csrf_token": console.sessions.csrf_token(sid),
            "flash": request.session.pop("flash", None)}


# --- logging in and out -----------------------------------------------------------------------

async def login_page(request: Request) -> Response:
    if request.state.user:
        return RedirectResponse("/", status_code=303)
    return _render(request, "login.html")


async def login(request: Request) -> Response:
    console = _console(request)
    form = await request.form()
    name = _field(form, "username", 4 * MAX_NAME)
    password = _field(form, "password", MAX_PASSWORD)
    address = _address(request)
    if console.throttle.blocked(name, address):
        console.audit.record(name, "login throttled", address)
        return _render(request, "login.html", 429,
                       error="Too many failed logins. Wait a few minutes and try again.")
    try:  # an unknown name costs the same bcrypt work as a known one (engine.auth)
        ok = await run_in_threadpool(console.accounts.verify, name, password)
    except AuthError:
        ok = False
    if not ok:
        console.throttle.failed(name, address)
        console.audit.record(name, "login failed", address)
        return _render(request, "login.html", 401, error="Wrong user name or password.")
    console.throttle.succeeded(name)
    console.sessions.open(request.session, name)
    console.audit.record(name, "login", address, method="password")
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    console = _console(request)
    console.audit.record(request.state.user, "logout", _address(request))
    console.sessions.close(request.session)
    return RedirectResponse("/login", status_code=303)


# --- this connection --------------------------------------------------------------------------

async def connection(request: Request) -> Response:
    tls = (request.scope.get("extensions") or {}).get("tls")
    certificate = client_certificate(request.scope)
    return _render(request, "connection.html", tls=tls, certificate=certificate,
                   pq=PQ_GROUPS.get(tls["group"]) if tls else None,
                   client=request.client, http_version=request.scope.get("http_version"),
                   mutual_tls=_console(request).ca.client_certificates)


# --- certificates -----------------------------------------------------------------------------

def _serial(request: Request) -> int:
    try:
        return parse_serial(request.path_params["serial"])
    except CAError:
        raise HTTPException(404, "No such certificate.") from None


async def certificates(request: Request, check=None, status: int = 200,
                       error: str | None = None) -> Response:
    console = _console(request)
    records = await run_in_threadpool(console.ca.records)
    return _render(request, "certificates.html", status, records=records, reasons=REASONS,
                   check=check, error=error, ca_subject=console.ca.ca.certificate.subject)


async def issue(request: Request) -> Response:
    console = _console(request)
    form = await request.form()
    kind = _field(form, "kind", 16)
    names = _field(form, "names", 2048)
    days = _field(form, "days", 8)
    password = _field(form, "keystore_password", MAX_PASSWORD)
    try:
        issued, p12 = await run_in_threadpool(console.ca.issue, kind, names, days,
                                              password.encode("utf-8"))
    except RequestError as exc:
        return await certificates(request, status=400, error=str(exc))
    serial = format(issued.serial_number, "x")
    console.audit.record(request.state.user, "certificate issued", _address(request), kind=kind,
                         serial=serial, names=names)
    filename = "%s-%s.p12" % (kind, serial)
    return Response(p12, media_type="application/x-pkcs12",
                    headers={"content-disposition": 'attachment; filename="%s"' % filename})


async def certificate_pem(request: Request) -> Response:
    serial = _serial(request)
    try:
        pem = await run_in_threadpool(_console(request).ca.certificate_pem, serial)
    except RequestError:
        raise HTTPException(404, "No such certificate.") from None
    return Response(pem, media_type="application/x-pem-file", headers={
        "content-disposition": 'attachment; filename="%s.pem"' % format(serial, "x")})


async def revoke(request: Request) -> Response:
    console = _console(request)
    serial = _serial(request)
    form = await request.form()
    reason = _field(form, "reason", 32)
    try:
        await run_in_threadpool(console.ca.revoke, serial, reason)
    except RequestError as exc:
        return await certificates(request, status=400, error=str(exc))
    text = format(serial, "x")
    console.audit.record(request.state.user, "certificate revoked", _address(request),
                         serial=text, reason=reason)
    # Sessions and connections that rest on the certificate end now; the next handshake
    # with it meets the new CRL.
    console.sessions.end_where(serial=serial)
    own = client_certificate(request.scope)
    if console.server is not None:
        current = (request.scope.get("extensions") or {}).get("tls")
        console.server.close_connections(
            lambda hs: bool(hs.peer_chain) and hs.peer_chain[0].serial_number == serial,
            spare=current)
    _flash(request, "Revoked %s; the CRL is republished." % text)
    headers = {"connection": "close"} if own is not None and own.serial_number == serial else {}
    return RedirectResponse("/certificates", status_code=303, headers=headers)


async def check(request: Request) -> Response:
    console = _console(request)
    form = await request.form()
    upload = form.get("certificate")
    if upload is None or isinstance(upload, str):
        return await certificates(request, status=400, error="Choose a certificate file.")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return await certificates(request, status=413,
                                  error="The file is too large for a certificate.")
    try:
        result = await run_in_threadpool(console.ca.check, data)
    except RequestError as exc:
        return await certificates(request, status=400, error=str(exc))
    console.audit.record(request.state.user, "certificate checked", _address(request),
                         serial=result.serial, verdict=result.verdict)
    return await certificates(request, check=result)


async def crl_pem(request: Request) -> Response:
    return Response(_console(request).ca.crl_pem(), media_type="application/x-pem-file")


async def ca_pem(request: Request) -> Response:
    with open(_console(request).directory.ca_certificate_path, "rb") as fh:
        return Response(fh.read(), media_type="application/x-pem-file")


# --- administrators ---------------------------------------------------------------------------

async def admins(request: Request, status: int = 200, error: str | None = None) -> Response:
    users = await run_in_threadpool(_console(request).accounts.users)
    return _render(request, "admins.html", status, users=users, error=error)


def _new_password(form) -> str:
    password = _field(form, "password", MAX_PASSWORD)
    if password != _field(form, "password2", MAX_PASSWORD):
        raise RequestError("The two passwords differ.")
    if len(password) < 8:
        raise RequestError("A password has at least 8 characters.")
    return password


async def admin_add(request: Request) -> Response:
    console = _console(request)
    form = await request.form()
    name = _field(form, "name", MAX_NAME)
    try:
        await run_in_threadpool(console.accounts.add, name, _new_password(form))
    except (RequestError, AuthError) as exc:
        return await admins(request, 400, str(exc))
    console.audit.record(request.state.user, "administrator added", _address(request), name=name)
    _flash(request, "Added %s." % name)
    return RedirectResponse("/admins", status_code=303)


async def admin_password(request: Request) -> Response:
    console = _console(request)
    name = request.path_params["name"]
    form = await request.form()
    try:
        await run_in_threadpool(console.accounts.change, name, _new_password(form))
    except (RequestError, AuthError) as exc:
        return await admins(request, 400, str(exc))
    console.sessions.end_where(user=name, keep=request.session.get("sid"))
    console.audit.record(request.state.user, "password changed", _address(request), name=name)
    _flash(request, "Changed the password of %s." % name)
    return RedirectResponse("/admins", status_code=303)


async def admin_remove(request: Request) -> Response:
    console = _console(request)
    name = request.path_params["name"]
    if name == request.state.user:
        return await admins(request, 400, "You cannot remove yourself.")
    try:
        await run_in_threadpool(console.accounts.remove, name)
    except AuthError as exc:
        return await admins(request, 400, str(exc))
    console.sessions.end_where(user=name)
    console.audit.record(request.state.user, "administrator removed", _address(request),
                         name=name)
    _flash(request, "Removed %s." % name)
    return RedirectResponse("/admins", status_code=303)


# --- server and audit -------------------------------------------------------------------------

def _stats(console: Console) -> dict:
    if console.server is None:
        return {}
    return console.server.stats.snapshot()


async def server(request: Request) -> Response:
    return _render(request, "server.html", stats=_stats(_console(request)))


async def server_stats(request: Request) -> Response:
    return JSONResponse(_stats(_console(request)))


async def audit(request: Request) -> Response:
    entries = await run_in_threadpool(_console(request).audit.latest, 200)
    return _render(request, "audit.html", entries=entries)


# --- errors -----------------------------------------------------------------------------------

async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # the handler of HTTPException alone
    detail = exc.detail if isinstance(exc.detail, str) else "The request was refused."
    return PlainTextResponse(detail, status_code=exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("Internal error; the console's log says more.", status_code=500)


ROUTES = [
    Route("/", connection),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/certificates", certificates),
    Route("/certificates/issue", issue, methods=["POST"]),
    Route("/certificates/check", check, methods=["POST"]),
    Route("/certificates/{serial}.pem", certificate_pem),
    Route("/certificates/{serial}/revoke", revoke, methods=["POST"]),
    Route("/crl.pem", crl_pem),
    Route("/ca.pem", ca_pem),
    Route("/admins", admins),
    Route("/admins/add", admin_add, methods=["POST"]),
    Route("/admins/{name}/password", admin_password, methods=["POST"]),
    Route("/admins/{name}/remove", admin_remove, methods=["POST"]),
    Route("/server", server),
    Route("/server/stats.json", server_stats),
    Route("/audit", audit),
    Mount("/static", StaticFiles(directory=os.path.join(HERE, "static")), name="static"),
]


def create_app(console: Console) -> Starlette:
    """The console's ASGI application (serve it with :mod:`engine.asgi`)."""
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=secrets.token_hex(32),
                   session_cookie=SESSION_COOKIE, max_age=MAX_SESSION_SECONDS,
                   same_site="strict", https_only=True),
        Middleware(AuthGate, sessions=console.sessions, accounts=console.accounts,
                   audit=console.audit),
        Middleware(FormGuard, sessions=console.sessions),
    ]
    app = Starlette(routes=ROUTES, middleware=middleware, exception_handlers={
        HTTPException: http_error, Exception: server_error})
    app.state.console = console
    app.state.templates = Jinja2Templates(directory=os.path.join(HERE, "templates"),
                                          context_processors=[_context])
    return app
