"""An in-memory client-server loop for the TLS tests."""

from __future__ import annotations

from engine.tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection


def client_config(pki, **options) -> ClientConfig:
    options.setdefault("trust", pki.trust)
    options.setdefault("server_name", "localhost")
    return ClientConfig(**options)


def server_config(pki, certificates=None, **options) -> ServerConfig:
    if certificates is None:
        certificates = [pki.servers["p256"]]
    return ServerConfig(certificates=certificates, **options)


def transfer(sender, receiver) -> list:
    """Move what ``sender`` queued into ``receiver``; return the receiver's events."""
    data = sender.data_to_send()
    return receiver.receive_data(data) if data else []


def handshake(client, server, rounds: int = 4):
    """Run the flights back and forth; return (client events, server events)."""
    client_events, server_events = [], []
    for _ in range(rounds):
        server_events += transfer(client, server)
        client_events += transfer(server, client)
    return client_events, server_events


def connected_pair(pki, client_options=None, server_options=None):
    client = ClientConnection(client_config(pki, **(client_options or {})))
    server = ServerConnection(server_config(pki, **(server_options or {})))
    client_events, server_events = handshake(client, server)
    return client, server, client_events, server_events


def run_to_failure(client, server, rounds: int = 4) -> dict:
    """Run a handshake that should fail; return ``{"client": error, "server": error}``.

    An error on one side still lets its queued alert reach the other side.
    """
    from engine.errors import EngineError

    errors = {}
    for _ in range(rounds):
        for name, sender, receiver in (("server", client, server), ("client", server, client)):
            data = sender.data_to_send()
            if not data or name in errors:
                continue
            try:
                receiver.receive_data(data)
            except EngineError as exc:
                errors[name] = exc
    return errors
