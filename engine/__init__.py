"""engine: a TLS 1.3 handshake engine for Python.

A sans-I/O TLS 1.3 client and server (RFC 8446), the public-key infrastructure around them (a CA,
a TrustStore, a password-protected KeyStore, CRLs), and a native extension over OpenSSL's
libcrypto for bulk record protection and batch certificate checks, with a pure-Python fallback
that gives the same bytes and verdicts.

The public names are imported on first use, so ``import engine`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors
from ._backend import info as backend_info

__version__ = "0.1.0"

_EXPORTS = {
    "CertificateAuthority": "engine.pki",
    "TrustStore": "engine.pki",
    "KeyStore": "engine.pki",
    "RevocationList": "engine.pki",
    "ClientConnection": "engine.tls",
    "ServerConnection": "engine.tls",
    "ClientConfig": "engine.tls",
    "ServerConfig": "engine.tls",
    "connect": "engine.blocking",
    "serve": "engine.blocking",
    "verify_chains": "engine.verify",
    "Verdict": "engine.verify",
    "Session": "engine.tls",
    "TLSSocket": "engine.blocking",
}
# The subpackages a user reaches as attributes (engine.aio.open_connection, engine.records...).
_SUBMODULES = ("aio", "asgi", "blocking", "httpx", "pki", "records", "tls", "verify")

__all__ = ["__version__", "backend_info", "errors", *_EXPORTS, *_SUBMODULES]

if TYPE_CHECKING:  # what type checkers see of the names imported on first use
    # "X as X": names this module exports, not only imports (PEP 484)
    from . import aio as aio, asgi as asgi, blocking as blocking, httpx as httpx
    from . import pki as pki, records as records, tls as tls, verify as verify
    from .blocking import TLSSocket as TLSSocket, connect as connect, serve as serve
    from .pki import (
        CertificateAuthority as CertificateAuthority, KeyStore as KeyStore,
        RevocationList as RevocationList, TrustStore as TrustStore,
    )
    from .tls import (
        ClientConfig as ClientConfig, ClientConnection as ClientConnection,
        ServerConfig as ServerConfig, ServerConnection as ServerConnection, Session as Session,
    )
    from .verify import Verdict as Verdict, verify_chains as verify_chains


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module("engine." + name)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError("module 'engine' has no attribute %r" % name)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
