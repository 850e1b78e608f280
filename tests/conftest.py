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


@pytest.fixture
def engine_server():
    """``start(config, handler=echo)``: an engine.blocking.Server on a thread."""
    yield from peers.started(peers.EngineServer)


@pytest.fixture
def ssl_server():
    """``start(context, handler=None)``: a Python ssl server on a thread."""
    yield from peers.started(peers.PythonSSLServer)


@pytest.fixture
def openssl_server():
    """``start(identity, *options)``: ``openssl s_server`` on a free port."""
    yield from peers.started(peers.OpenSSLServer)


@pytest.fixture
def openssl_client():
    """``start(port, *options)``: ``openssl s_client`` to 127.0.0.1:port."""
    yield from peers.started(peers.OpenSSLClient)
