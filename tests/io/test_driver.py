"""engine._driver: the bookkeeping both adapters stand on, over an in-memory client and server."""

from __future__ import annotations

import pytest

from engine._driver import (
    Driver, TLSInfo, client_connection, client_hello_cipher_suites, server_connection,
)
from engine.errors import LocalProtocolError, PeerAlertError, ProtocolError, TLSEOFError
from engine.tls import ClientConfig, ServerConfig
from engine.tls.constants import SUITE_BY_NAME


class Side:
    """A driver and what its callbacks saw."""

    def __init__(self, made, config):
        connection, name = made if isinstance(made, tuple) else (made, None)
        self.data = bytearray()
        self.handshakes = []
        self.close_notifies = 0
        self.driver = Driver(connection, config, server_hostname=name, on_data=self.data.extend,
                             on_handshake=self.handshakes.append,
                             on_close_notify=self._close_notify)

    def _close_notify(self):
        self.close_notifies += 1


def move(sender: Side, receiver: Side) -> None:
    data = sender.driver.data_to_send()
    if data:
        receiver.driver.feed(data)


def pair(creds, **client_options):
    config = ClientConfig(trust=creds.trust, **client_options)
    client = Side(client_connection(config, "localhost"), config)
    server_config = ServerConfig([creds.server])
    server = Side(server_connection(server_config), server_config)
    for _ in range(3):
        move(client, server)
        move(server, client)
    return client, server


def test_the_handshake_reaches_both_callbacks_and_both_sets_of_facts(creds):
    client, server = pair(creds)
    assert client.handshakes and server.handshakes
    assert client.driver.handshake is client.handshakes[0]
    info = TLSInfo(client.driver)
    assert info.version() == "TLSv1.3" and info.server_hostname == "localhost"
    assert info.cipher() == (info.cipher_suite, "TLSv1.3",
                             SUITE_BY_NAME[info.cipher_suite].key_size * 8)
    assert TLSInfo(server.driver).server_side and TLSInfo(server.driver).server_hostname is None


def test_byte_counters_agree_across_the_wire(creds):
    client, server = pair(creds)
    server.driver.feed(client.driver.send(b"hello"))  # the records of the write, counted
    assert bytes(server.data) == b"hello"
    assert client.driver.plaintext_sent == server.driver.plaintext_received == 5
    assert client.driver.bytes_sent == server.driver.bytes_received
    assert server.driver.bytes_sent == client.driver.bytes_received


def test_close_notify_closes_one_direction(creds):
    client, server = pair(creds)
    client.driver.close()
    move(client, server)
    assert server.close_notifies == 1 and server.driver.close_notify_received
    assert server.driver.can_send and not client.driver.can_send
    client.driver.feed(server.driver.send(b"still answering"))
    assert bytes(client.data) == b"still answering"


def test_end_of_file_without_close_notify_is_a_tls_eof_error(creds):
    client, server = pair(creds)
    with pytest.raises(TLSEOFError, match="without close_notify"):
        server.driver.feed(b"")
    assert isinstance(server.driver.error, TLSEOFError) and not server.driver.can_send


def test_end_of_file_in_the_handshake_is_a_connection_aborted_error(creds):
    config = ClientConfig(trust=creds.trust)
    client = Side(client_connection(config, "localhost"), config)
    client.driver.data_to_send()
    with pytest.raises(ConnectionAbortedError, match="during the handshake"):
        client.driver.feed(b"")


def test_a_fault_of_the_peer_is_raised_and_its_alert_queued(creds):
    client, server = pair(creds)
    with pytest.raises(ProtocolError):
        server.driver.feed(b"\x17\x03\x03\x00\x20" + bytes(32))  # fails authentication
    alert = server.driver.data_to_send()
    assert alert and server.driver.error is not None
    with pytest.raises(PeerAlertError):
        client.driver.feed(alert)
    assert client.driver.alerts == [server.driver.error.alert]


@pytest.mark.parametrize("first_bytes,quoted", [
    (b"HTTP/1.1 400 Bad Request\r\nServer: x\r\n\r\n", "'HTTP/1.1 400 Bad Request ...'"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "'SSH-2.0-OpenSSH_9.6 ...'"),
    (b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11",
     repr(bytes(range(16))) + " ..."),
])
def test_a_peer_that_does_not_speak_tls_is_named_so(creds, first_bytes, quoted):
    config = ClientConfig(trust=creds.trust)
    client = Side(client_connection(config, "localhost"), config)
    client.driver.data_to_send()
    with pytest.raises(ProtocolError) as caught:
        client.driver.feed(first_bytes)
    assert str(caught.value) == "the peer does not speak TLS (it sent %s)" % quoted
    assert client.driver.data_to_send()  # the alert for it, all the same


def test_a_tls_record_that_is_wrong_keeps_its_own_message(creds):
    config = ClientConfig(trust=creds.trust)
    client = Side(client_connection(config, "localhost"), config)
    client.driver.data_to_send()
    with pytest.raises(ProtocolError) as caught:
        client.driver.feed(b"\x17\x03\x03\x00\x05hello")  # application data before keys
    assert "does not speak TLS" not in str(caught.value)


def test_the_server_name_is_explicit_else_the_configs_else_the_host(creds):
    named = ClientConfig(trust=creds.trust, server_name="configured.example")
    plain = ClientConfig(trust=creds.trust)
    assert client_connection(named, "host.example", "explicit.example")[1] == "explicit.example"
    assert client_connection(named, "host.example")[1] == "configured.example"
    assert client_connection(plain, "host.example.")[1] == "host.example"


def test_configs_of_the_wrong_side_are_type_errors(creds):
    with pytest.raises(TypeError, match="a ServerConfig is for the server side"):
        client_connection(ServerConfig([creds.server]), "localhost")
    with pytest.raises(TypeError, match="a ClientConfig is for the client side"):
        server_connection(ClientConfig(trust=creds.trust))


def test_the_client_hello_cipher_suites_are_read_across_fragments(creds):
    config = ClientConfig(trust=creds.trust, cipher_suites=("TLS_CHACHA20_POLY1305_SHA256",
                                                            "TLS_AES_128_GCM_SHA256"))
    hello = client_connection(config, "localhost")[0].data_to_send()
    codes = tuple(SUITE_BY_NAME[name].code for name in config.cipher_suites)
    assert client_hello_cipher_suites(hello) == codes
    body = hello[5:]
    fragments = b"".join(b"\x16\x03\x01\x00\x07" + body[i:i + 7]
                         for i in range(0, len(body), 7))
    assert client_hello_cipher_suites(fragments) == codes
    assert client_hello_cipher_suites(hello[:60]) is None
    assert client_hello_cipher_suites(b"GET / HTTP/1.1") is None


def test_a_failed_connection_refuses_more_input(creds):
    client, server = pair(creds)
    with pytest.raises(TLSEOFError):
        server.driver.feed(b"")
    with pytest.raises(LocalProtocolError):
        server.driver.feed(b"more")
