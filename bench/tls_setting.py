"""What the TLS benchmarks share: one CA and P-256 server certificate, and a configured client
and server for each contender (the engine, Python's ssl, and rtls - rustls behind the ssl API -
when it is installed), each able to complete a handshake over memory.

Every contender verifies the server's chain against the same CA and the name "localhost"; ssl
and rtls negotiate their default cipher suite, the engine the one ssl picks. Servers send
session tickets (two, the default of the engine and of ssl); the engine client keeps no session
cache here, so every handshake is a full one unless a session is passed.
"""

from __future__ import annotations

import os
import ssl

from cryptography.hazmat.primitives import serialization

from engine.pki import CertificateAuthority, TrustStore
from engine.tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection

try:
    import rtls
except ImportError:  # the optional contender: pip install 'engine[bench]'
    rtls = None

MAX_FLIGHTS = 8


class Setting:
    """The CA, the server certificate and the configured contexts of every contender."""

    def __init__(self, directory: str):
        ca = CertificateAuthority.create_root("Bench Root CA", key_type="p256")
        leaf = ca.issue_server(["localhost"], key_type="p256")
        self.ca_path = os.path.join(directory, "ca.pem")
        self.cert_path = os.path.join(directory, "server.pem")
        self.key_path = os.path.join(directory, "server.key")
        with open(self.ca_path, "wb") as fh:
            fh.write(ca.certificate.public_bytes(serialization.Encoding.PEM))
        with open(self.cert_path, "wb") as fh:
            fh.write(leaf.certificate.public_bytes(serialization.Encoding.PEM))
        with open(self.key_path, "wb") as fh:
            fh.write(leaf.private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))

        self.ssl_server, self.ssl_client = self._contexts(ssl)
        self.rtls_server = self.rtls_client = None
        if rtls is not None:
            self.rtls_server, self.rtls_client = self._contexts(rtls)
        client, _, _ = memory_handshake(ssl, self.ssl_client, self.ssl_server)
        self.suite, self.group = client.cipher()[0], "x25519"  # ssl sends an x25519 share first

        common = {"cipher_suites": (self.suite,), "groups": (self.group,)}
        self.trust = TrustStore([ca.certificate])
        self.client_config = ClientConfig(trust=self.trust, key_share_groups=(self.group,),
                                          session_cache_size=0, **common)
        self.server_keystore = leaf.keystore()
        self.server_config = ServerConfig([self.server_keystore], **common)

    def _contexts(self, module):
        server = module.SSLContext(module.PROTOCOL_TLS_SERVER)
        server.minimum_version = module.TLSVersion.TLSv1_3
        server.load_cert_chain(self.cert_path, self.key_path)
        client = module.SSLContext(module.PROTOCOL_TLS_CLIENT)
        client.minimum_version = module.TLSVersion.TLSv1_3
        client.load_verify_locations(self.ca_path)
        return server, client

    def contexts(self, name: str):
        """(client context, server context) of "ssl" or "rtls"."""
        if name == "ssl":
            return self.ssl_client, self.ssl_server
        return self.rtls_client, self.rtls_server


def engine_handshake(setting: Setting, client_config=None, server_config=None, session=None):
    """One handshake between an engine client and an engine server, over memory, resuming
    ``session`` if given; the server's tickets reach the client."""
    client = ClientConnection(client_config or setting.client_config, server_name="localhost",
                              session=session)
    server = ServerConnection(server_config or setting.server_config)
    to_server = client.data_to_send()
    for _ in range(MAX_FLIGHTS):
        server.receive_data(to_server)
        to_client = server.data_to_send()
        if to_client:
            client.receive_data(to_client)
        to_server = client.data_to_send()
        if client.handshake_complete and server.handshake_complete:
            if to_server:
                server.receive_data(to_server)
            tickets = server.data_to_send()
            if tickets:
                client.receive_data(tickets)
            return client, server
        if not to_server:
            break
    raise RuntimeError("the engine handshake did not complete")


def memory_handshake(module, client_context, server_context, session=None):
    """One handshake between two SSLObjects of ``module`` (ssl or rtls) over MemoryBIOs,
    resuming ``session`` if given; returns (client, server, (client in, client out, server in,
    server out)). The server's tickets are left in the client's input BIO."""
    c_in, c_out, s_in, s_out = (module.MemoryBIO(), module.MemoryBIO(), module.MemoryBIO(),
                                module.MemoryBIO())
    options = {"session": session} if session is not None else {}
    client = client_context.wrap_bio(c_in, c_out, server_hostname="localhost", **options)
    server = server_context.wrap_bio(s_in, s_out, server_side=True)
    def step(side) -> bool:
        """One do_handshake call: whether that side is done."""
        try:
            side.do_handshake()
            return True
        except module.SSLWantReadError:
            return False

    client_done = server_done = False
    for _ in range(MAX_FLIGHTS):
        client_done = client_done or step(client)
        s_in.write(c_out.read())
        server_done = server_done or step(server)
        c_in.write(s_out.read())
        if client_done and server_done:
            return client, server, (c_in, c_out, s_in, s_out)
    raise RuntimeError("the %s handshake did not complete" % module.__name__)
