"""SSLKEYLOGFILE, honoured by ClientConfig and ServerConfig as ssl.create_default_context honours
it: read when the config is made, ignored under python -E, turned off with keylog_file=False,
and overridden by an explicit path."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from engine.errors import LocalProtocolError
from engine.pki import CertificateAuthority
from engine.tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection

LABELS = ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
          "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"]


@pytest.fixture(scope="module")
def pki():
    root = CertificateAuthority.create_root("Key Log Root")
    return root, root.issue_server(["localhost"]).keystore()


def handshake(pki, client_options=None, server_options=None):
    root, keystore = pki
    client = ClientConnection(ClientConfig(trust=[root.certificate], **(client_options or {})),
                              server_name="localhost")
    server = ServerConnection(ServerConfig(certificates=[keystore], **(server_options or {})))
    for _ in range(3):
        for sender, receiver in ((client, server), (server, client)):
            data = sender.data_to_send()
            if data:
                receiver.receive_data(data)
    assert client.handshake_complete and server.handshake_complete
    return client


def labels(path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines()]


@pytest.mark.parametrize("side", ["client", "server"])
def test_sslkeylogfile_is_written_by_default(pki, tmp_path, monkeypatch, side):
    log = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(log))
    off = {"keylog_file": False}
    client = handshake(pki, None if side == "client" else off, off if side == "client" else None)
    assert labels(log) == LABELS
    assert all(line.split()[1] == client.client_random.hex()
               for line in log.read_text().splitlines())


def test_the_environment_is_read_when_the_config_is_made(pki, tmp_path, monkeypatch):
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "first.log"))
    config = ClientConfig(trust=[pki[0].certificate])
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "second.log"))
    assert config.keylog_file == str(tmp_path / "first.log")


def test_keylog_file_false_writes_nothing_whatever_the_environment_says(pki, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "keys.log"))
    handshake(pki, {"keylog_file": False}, {"keylog_file": False})
    assert not (tmp_path / "keys.log").exists()


def test_an_explicit_path_wins_over_the_environment(pki, tmp_path, monkeypatch):
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "environment.log"))
    handshake(pki, {"keylog_file": tmp_path / "mine.log"}, {"keylog_file": False})
    assert labels(tmp_path / "mine.log") == LABELS
    assert not (tmp_path / "environment.log").exists()


def test_no_key_log_when_the_variable_is_unset_or_empty(pki, monkeypatch):
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    assert ClientConfig(verify=False).keylog_file is None
    monkeypatch.setenv("SSLKEYLOGFILE", "")
    assert ClientConfig(verify=False).keylog_file is None


@pytest.mark.parametrize("value", [True, 5])
def test_a_keylog_file_that_is_not_a_path_is_refused(value):
    with pytest.raises(LocalProtocolError, match="keylog_file is a path, or False"):
        ClientConfig(verify=False, keylog_file=value)


def test_python_dash_e_ignores_sslkeylogfile_as_ssl_does(tmp_path):
    code = ("import ssl, engine; print(engine.ClientConfig(verify=False).keylog_file, "
            "ssl.create_default_context().keylog_filename)")
    env = dict(os.environ, SSLKEYLOGFILE=str(tmp_path / "keys.log"))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    told = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, cwd=root)
    ignored = subprocess.run([sys.executable, "-E", "-c", code], env=env, capture_output=True,
                             text=True, cwd=root)
    assert told.stdout.split() == [str(tmp_path / "keys.log")] * 2, told.stderr
    assert ignored.stdout.split() == ["None", "None"], ignored.stderr
