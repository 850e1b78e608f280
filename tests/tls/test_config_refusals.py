"""ClientConfig and ServerConfig refuse what cannot work when they are made, with a typed error,
rather than failing a handshake later with internal_error."""

from __future__ import annotations

import datetime

import pytest

from engine.errors import CRLError, LocalProtocolError, TrustStoreError
from engine.tls import ClientConfig, ClientConnection, ServerConfig


@pytest.fixture(scope="module")
def keystore(small_pki):
    return small_pki.server.keystore()


@pytest.mark.parametrize("options, error, message", [
    ({"trust": "/no/such/file.pem"}, TrustStoreError, "trust anchor"),
    ({"trust": [b"junk"]}, TrustStoreError, "trust anchor"),
    ({"crls": [b"junk"]}, CRLError, "CRL"),
    ({"alpn_protocols": "h2"}, LocalProtocolError, "not one str"),
    ({"alpn_protocols": [5]}, LocalProtocolError, "not int"),
    ({"alpn_protocols": ["é"]}, LocalProtocolError, "ASCII"),
    ({"server_name": ""}, LocalProtocolError, "not a host name"),
    ({"server_name": "lökalhost"}, LocalProtocolError, "A-label"),
    ({"server_name": "a." * 35000}, LocalProtocolError, "not a host name"),
    ({"server_name": b"localhost"}, LocalProtocolError, "not bytes"),
    ({"certificate": b"junk"}, LocalProtocolError, "KeyStore"),
    ({"verify_time": "2024-01-01"}, LocalProtocolError, "datetime"),
    ({"keylog_file": 5}, LocalProtocolError, "path"),
])
def test_a_client_config_that_cannot_work_is_refused(small_pki, options, error, message):
    options.setdefault("trust", small_pki.trust)
    with pytest.raises(error, match=message):
        ClientConfig(server_name=options.pop("server_name", "localhost"), **options)


@pytest.mark.parametrize("options, error, message", [
    ({"certificates": "server.p12"}, LocalProtocolError, "list of KeyStores"),
    ({"certificates": [b"junk"]}, LocalProtocolError, "KeyStore"),
    ({"trust": [b"junk"], "verify_client": "require"}, TrustStoreError, "trust anchor"),
    ({"crls": ["not a crl"]}, CRLError, "CRL"),
    ({"alpn_protocols": b"h2"}, LocalProtocolError, "not one bytes"),
])
def test_a_server_config_that_cannot_work_is_refused(keystore, options, error, message):
    options.setdefault("certificates", [keystore])
    with pytest.raises(error, match=message):
        ServerConfig(**options)


@pytest.mark.parametrize("name", ["", "é.example", 5])
def test_a_connection_server_name_is_checked_as_the_config_one(small_pki, name):
    config = ClientConfig(trust=small_pki.trust, server_name="localhost")
    with pytest.raises(LocalProtocolError):
        ClientConnection(config, server_name=name)


def test_sound_values_are_kept(small_pki, keystore, tmp_path):
    when = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    config = ClientConfig(trust=small_pki.trust, server_name="127.0.0.1", alpn_protocols=["h2", b"x"],
                          crls=[small_pki.root.crl()], verify_time=when,
                          keylog_file=tmp_path / "keys.log")
    assert config.keylog_file == str(tmp_path / "keys.log") and config.verify_time == when
    assert ServerConfig(certificates=[keystore], alpn_protocols=[bytearray(b"h2")]).alpn_protocols
