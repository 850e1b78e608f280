"""Fixtures of every test folder: the session's certificates, each backend in turn, and peers
over sockets (see tests/_support)."""

from __future__ import annotations

import pytest

from tests._support import peers
from tests._support.backends import NATIVE, NATIVE_MISSING
from tests._support.certificates import CertificateFactory, SmallPKI


@pytest.fixture(scope="session")
def certificates() -> CertificateFactory:
    """The one certificate factory of the session."""
    return CertificateFactory()


@pytest.fixture(scope="session")
def small_pki(certificates) -> SmallPKI:
    """A root, its issuing CA and one server certificate."""
    return SmallPKI(certificates)


@pytest.fixture(scope="module")
def root(certificates, request):
    """A root CA of the test module's own, for tests that issue and revoke."""
    return certificates.ca("Test Root CA of %s" % request.module.__name__)


@pytest.fixture(scope="module")
def intermediate(certificates, root, request):
    """An issuing CA under the module's own :func:`root`."""
    return certificates.ca("Test Issuing CA of %s" % request.module.__name__,
                           parent="Test Root CA of %s" % request.module.__name__)


@pytest.fixture(params=["python", "native"])
def backend(request) -> str:
    """Each backend in turn; the native one is skipped, saying why, where it cannot run."""
    if request.param == "native" and not NATIVE:
        pytest.skip(NATIVE_MISSING)
    return request.param


def _peers(make, name: str, doc: str):
    """A fixture that starts peers with ``make`` and stops them at teardown."""

    def fixture():
        yield from peers.started(make)

    fixture.__doc__ = doc
    return pytest.fixture(name=name)(fixture)


engine_server = _peers(peers.EngineServer, "engine_server",
                       "``start(config, handler=echo)``: an engine.blocking.Server on a thread.")
ssl_server = _peers(peers.PythonSSLServer, "ssl_server",
                    "``start(context, handler=None)``: a Python ssl server on a thread.")
openssl_server = _peers(peers.OpenSSLServer, "openssl_server",
                        "``start(identity, *options)``: ``openssl s_server`` on a free port.")
openssl_client = _peers(peers.OpenSSLClient, "openssl_client",
                        "``start(port, *options)``: ``openssl s_client`` to 127.0.0.1:port.")
s_server = _peers(peers.SServer, "s_server",
                  "``start(*options, env=None)``: ``engine s_server --port 0`` in a subprocess.")
