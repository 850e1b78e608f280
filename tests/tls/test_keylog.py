"""SSLKEYLOGFILE: written only when asked (a path, or the environment's); a key log that cannot be written warns and the
handshake goes on."""

from __future__ import annotations

import pytest

from engine.tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from engine.tls.keylog import KeyLogWarning


def handshake(small_pki, keylog_file=None):
    client = ClientConnection(ClientConfig(trust=small_pki.trust, server_name="localhost",
                                           keylog_file=keylog_file))
    server = ServerConnection(ServerConfig(certificates=[small_pki.server.keystore()],
                                           keylog_file=keylog_file))
    for _ in range(3):
        for sender, receiver in ((client, server), (server, client)):
            data = sender.data_to_send()
            if data:
                receiver.receive_data(data)
    return client, server


def test_an_unwritable_key_log_warns_and_the_handshake_completes(small_pki, tmp_path):
    with pytest.warns(KeyLogWarning, match="cannot write the key log") as caught:
        client, server = handshake(small_pki, keylog_file=str(tmp_path))  # a directory
    assert client.handshake_complete and server.handshake_complete
    for warning in caught:  # the path and the reason, never a secret
        assert str(warning.message) == "cannot write the key log %s: Is a directory" % tmp_path


def test_no_key_log_is_written_when_turned_off(small_pki, tmp_path, monkeypatch):
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "keys.log"))
    client, _ = handshake(small_pki, keylog_file=False)
    assert client.handshake_complete and not (tmp_path / "keys.log").exists()


def test_the_key_log_holds_the_secrets_when_asked(small_pki, tmp_path):
    log = tmp_path / "keys.log"
    client, _ = handshake(small_pki, keylog_file=str(log))
    lines = log.read_text().splitlines()
    assert lines and all(line.split()[1] == client.client_random.hex() for line in lines)
    assert oct(log.stat().st_mode & 0o777) == oct(0o600)
