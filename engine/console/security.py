"""Who is logged in, and the guards every request passes: sessions, CSRF, size limits, headers.

The session cookie is Starlette's SessionMiddleware (itsdangerous-signed, expiring, ``Secure``,
``HttpOnly``, ``SameSite=Strict``); it carries only a random session id. Which administrator an
id belongs to is kept here, in memory, so that logging out, removing an administrator or
revoking the certificate a session was opened with ends that session at once, and a restart
ends them all (the signing key is made anew at each start).

:class:`AuthGate` lets a request through to a page only with a live session, opening one for a
client certificate that names an administrator. :class:`FormGuard` bounds every request body
and refuses a form whose CSRF token is not the session's, before any handler runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import threading
import time

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse

SESSION_COOKIE = "console_session"
IDLE_SECONDS = 30 * 60  # a session unused this long ends
MAX_SESSION_SECONDS = 12 * 3600  # and none lasts longer (the cookie's signature expires too)
MAX_BODY = 256 * 1024
MAX_FIELDS = 16
CSRF_FIELD = "csrf_token"
PUBLIC_PATHS = ("/login", "/crl.pem", "/ca.pem")
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


@dataclasses.dataclass(frozen=True)
class Session:
    user: str
    started: float
    serial: int | None  # the client certificate it was opened with, if any


class Sessions:
    """The live sessions, by id."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_id: dict = {}
        self._last_seen: dict = {}
        self.csrf_key = secrets.token_bytes(32)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self.csrf_key, sid.encode(), hashlib.sha256).hexdigest()

    def open(self, session: dict, user: str, serial: int | None = None) -> None:
        """Log ``user`` in: a new id (never the one used before logging in)."""
        old = session.get("sid")
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._by_id.pop(old, None)
            self._last_seen.pop(old, None)
            self._by_id[sid] = Session(user, time.time(), serial)
            self._last_seen[sid] = time.time()
        session.clear()
        session["sid"] = sid

    def close(self, session: dict) -> None:
        with self._lock:
            self._by_id.pop(session.get("sid"), None)
            self._last_seen.pop(session.get("sid"), None)
        session.clear()
        session["sid"] = secrets.token_urlsafe(32)

    def user(self, sid, serial: int | None) -> str | None:
        """The administrator of session ``sid`` on a connection whose client certificate has
        ``serial`` (None: none), or None."""
        with self._lock:
            found = self._by_id.get(sid)
            if found is None:
                return None
            now = time.time()
            if now - found.started > MAX_SESSION_SECONDS \
                    or now - self._last_seen[sid] > IDLE_SECONDS:
                del self._by_id[sid], self._last_seen[sid]
                return None
            if found.serial is not None and found.serial != serial:
                return None  # a certificate's session lives on that certificate's connections
            self._last_seen[sid] = now
            return found.user

    def end_where(self, user: str | None = None, serial: int | None = None,
                  keep: str | None = None) -> int:
        """End the sessions of ``user`` or of certificate ``serial`` (but not ``keep``)."""
        with self._lock:
            gone = [sid for sid, s in self._by_id.items() if sid != keep and (
                (user is not None and s.user == user)
                or (serial is not None and s.serial == serial))]
            for sid in gone:
                del self._by_id[sid], self._last_seen[sid]
        return len(gone)


def client_certificate(scope):
    """The verified client certificate of the request's connection, or None."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("peer_chain") or ()
    return chain[0] if chain else None


def common_name(certificate) -> str | None:
    from cryptography.x509.oid import NameOID

    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return names[0].value if names else None


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _address(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "-"


class AuthGate:
    """Sets ``request.state.user``; sends the anonymous to the login page."""

    def __init__(self, app, sessions: Sessions, accounts, audit):
        self.app = app
        self.sessions = sessions
        self.accounts = accounts
        self.audit = audit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = scope["session"]
        if not isinstance(session.get("sid"), str):
            session["sid"] = secrets.token_urlsafe(32)
        certificate = client_certificate(scope)
        serial = certificate.serial_number if certificate is not None else None
        user = self.sessions.user(session["sid"], serial)
        if user is None and certificate is not None:
            name = common_name(certificate)
            if name and name in self.accounts.users():
                self.sessions.open(session, name, serial)
                self.audit.record(name, "login", _address(scope), method="client certificate",
                                  serial=format(serial, "x"))
                user = name
        scope.setdefault("state", {})["user"] = user
        if user is None and not _public(scope["path"]):
            if scope["method"] in SAFE_METHODS:
                response = RedirectResponse("/login", status_code=303)
            else:
                response = PlainTextResponse("Log in first.", status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class FormGuard:
    """Bounds request bodies and checks the CSRF token of every form (any unsafe method)."""

    def __init__(self, app, sessions: Sessions, max_body: int = MAX_BODY):
        self.app = app
        self.sessions = sessions
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._precheck(headers)
        body = b""
        if refusal is None:
            body = await self._read(receive)
            if body is None:
                refusal = ("The request is too large.", 413)
        if refusal is None:
            refusal = await self._check_token(scope, body)
        if refusal is not None:
            await PlainTextResponse(refusal[0], status_code=refusal[1])(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _precheck(self, headers):
        if headers.get("sec-fetch-site") == "cross-site":
            return ("Forms from other sites are refused.", 403)
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return ("Bad Content-Length.", 400)
        if length > self.max_body:
            return ("The request is too large.", 413)
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return ("Send a form.", 415)
        return None

    async def _read(self, receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _check_token(self, scope, body: bytes):
        request = Request(scope, _replay(body, None))
        try:
            async with request.form(max_files=1, max_fields=MAX_FIELDS,
                                    max_part_size=self.max_body) as form:
                token = form.get(CSRF_FIELD)
        except Exception:  # a malformed form, too many fields...: the same plain answer
            return ("The form cannot be read.", 400)
        sid = scope["session"].get("sid")
        expected = self.sessions.csrf_token(sid) if isinstance(sid, str) else ""
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(),
                                                                 expected.encode()):
            return ("The form has expired or did not come from this console: "
                    "reload the page and try again.", 403)
        return None


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if receive is None:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


class SecurityHeaders:
    """Adds the console's security headers to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, with_headers)
