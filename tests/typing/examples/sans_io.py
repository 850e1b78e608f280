"""A client and a server driven over memory: bytes in, events out."""

from __future__ import annotations

import pathlib

from cryptography import x509

import engine
from engine.pki import CertificateAuthority, TrustStore
from engine.tls import (
    ApplicationData, ConnectionClosed, Event, HandshakeComplete, SessionTicketReceived,
)

ca = CertificateAuthority.create_root("Example Root CA")
server_config = engine.ServerConfig(certificates=[ca.issue_server(["localhost"]).keystore()],
                                    alpn_protocols=["http/1.1"])
client_config = engine.ClientConfig(trust=TrustStore([ca.certificate]), crls=[ca.crl()],
                                    alpn_protocols=["http/1.1"])
logging_config = engine.ClientConfig(trust=TrustStore([ca.certificate]),
                                     keylog_file=pathlib.Path("keys.log"))  # a path, as ssl's

client = engine.ClientConnection(client_config, server_name="localhost")
server = engine.ServerConnection(server_config)


def pump(sender: engine.ClientConnection | engine.ServerConnection,
         receiver: engine.ClientConnection | engine.ServerConnection) -> list[Event]:
    """Hand what ``sender`` queued to ``receiver``; the events that gives."""
    wire: bytes = sender.data_to_send()
    return receiver.receive_data(wire)


pump(client, server)
saved: bytes | None = None
for event in pump(server, client):
    if isinstance(event, HandshakeComplete):
        suite: str = event.cipher_suite
        alpn: str | None = event.alpn_protocol
        peer: tuple[x509.Certificate, ...] = event.peer_chain
        resumed: bool = event.resumed
    elif isinstance(event, SessionTicketReceived):
        saved = event.session.to_bytes()
pump(client, server)
client.send_data(b"hello")
for event in pump(client, server):
    if isinstance(event, ApplicationData):
        data: bytes = event.data
        server.send_data(data)
    elif isinstance(event, ConnectionClosed):
        break
client.close()
closed: bool = client.closed
secret: bytes = client.export_keying_material(b"EXPORTER-example", b"", 32)
if saved is not None:
    again = engine.ClientConnection(client_config, "localhost",
                                    session=engine.Session.from_bytes(saved))
latest: engine.Session | None = client.session
