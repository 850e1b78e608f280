"""Session resumption with tickets: PSK with (EC)DHE, the server's tickets and keys, the
client's sessions (RFC 8446 sections 2.2, 4.2.9, 4.2.11, 4.6.1)."""

from __future__ import annotations

import pytest

from engine import errors
from engine.errors import AlertDescription
from engine.records._suites import plaintext_records
from engine.tls import (
    ApplicationData, ClientConnection, HandshakeComplete, ServerConnection, Session,
    SessionTicketReceived, TicketKeys, codec,
)
from engine.tls.constants import HandshakeType
from engine.tls.session import SessionCache
from engine.tls.tickets import TicketState, new_key_file_line
from tests._support.pairs import (
    client_config, handshake, open_all, records, run_to_failure, server_config,
)


def connect(client_cfg, server_cfg, **client_options):
    """One connection over memory: (client, server, client events, server events)."""
    client = ClientConnection(client_cfg, **client_options)
    server = ServerConnection(server_cfg)
    client_events, server_events = handshake(client, server)
    assert client.handshake_complete and server.handshake_complete
    return client, server, client_events, server_events


def completed(events) -> HandshakeComplete:
    return next(e for e in events if isinstance(e, HandshakeComplete))


def sessions(events) -> list:
    return [e.session for e in events if isinstance(e, SessionTicketReceived)]


def a_session(client_cfg, server_cfg) -> Session:
    return sessions(connect(client_cfg, server_cfg)[2])[0]


def hello_of(client) -> tuple:
    """The ClientHello the client queued: (message, parsed)."""
    message = records(client.data_to_send())[0][1][5:]
    return message, codec.parse_client_hello(message[4:])


def server_flight(client, server) -> list:
    """Run the ClientHello through the server; the handshake messages of its answer, opened
    with the client's handshake key, and the client left waiting for them."""
    server.receive_data(client.data_to_send())
    wire = server.data_to_send()
    client.receive_data(b"".join(r for t, r in records(wire) if t != 23))  # ServerHello, CCS
    return open_all(client, client._server_hs, wire)


@pytest.fixture
def configs(pki):
    return client_config(pki), server_config(pki)


# --- tickets and the resumed handshake --------------------------------------------------------


def test_a_full_handshake_gives_two_tickets_and_a_resumed_one_gives_one(configs):
    _, _, events, _ = connect(*configs)
    assert len(sessions(events)) == 2 and not completed(events).resumed
    _, _, events, _ = connect(*configs)
    assert completed(events).resumed and len(sessions(events)) == 1


def test_a_resumed_server_sends_encrypted_extensions_and_finished_only(configs):
    connect(*configs)
    client, server = ClientConnection(configs[0]), ServerConnection(configs[1])
    flight = server_flight(client, server)
    assert [m[0] for m in flight] == [HandshakeType.encrypted_extensions, HandshakeType.finished]


def test_both_sides_report_the_resumption(configs):
    _, _, first, _ = connect(*configs)
    client, server, client_events, server_events = connect(*configs)
    done, server_done = completed(client_events), completed(server_events)
    assert done.resumed and server_done.resumed
    assert done.peer_chain == completed(first).peer_chain  # verified when the session was made
    assert done.signature_scheme is None and server_done.signature_scheme is None
    assert done.group == server_done.group == "x25519"  # psk_dhe_ke: a fresh exchange too
    assert done.early_data_accepted is None and server_done.early_data_accepted is None
    client.send_data(b"ping")
    assert server.receive_data(client.data_to_send()) == [ApplicationData(b"ping")]
    server.key_update()
    server.send_data(b"pong")
    assert ApplicationData(b"pong") in client.receive_data(server.data_to_send())


def test_an_explicit_session_is_resumed_and_stays_reusable(pki, configs):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    no_cache = client_config(pki, session_cache_size=0)
    for _ in range(2):
        _, _, events, _ = connect(no_cache, server_cfg, session=session)
        assert completed(events).resumed


def test_a_session_survives_to_bytes_and_back(pki, configs):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    restored = Session.from_bytes(session.to_bytes())
    assert restored.peer_chain == session.peer_chain and restored.psk == session.psk
    assert (restored.ticket, restored.lifetime, restored.cipher_suite) == (
        session.ticket, session.lifetime, session.cipher_suite)
    _, _, events, _ = connect(client_config(pki, session_cache_size=0), server_cfg,
                              session=restored)
    assert completed(events).resumed


@pytest.mark.parametrize("data", [b"", b"ETLS\x01", b"not a session", b"ETLS\x01" + bytes(80)])
def test_damaged_session_bytes_are_a_local_error(data):
    with pytest.raises(errors.LocalProtocolError):
        Session.from_bytes(data)


def test_secrets_are_never_in_reprs(configs):
    session = a_session(*configs)
    state = TicketState(0x1301, session.psk, 0, 7200, 1234)
    for text in (repr(session), repr(state), repr(configs[1].ticket_keys)):
        assert session.psk.hex() not in text and "psk" not in text.lower()


def test_each_ticket_has_its_own_psk_and_age_obfuscation(configs):
    one, two = sessions(connect(*configs)[2])
    assert one.psk != two.psk and one.ticket != two.ticket
    assert one._age_add != two._age_add


def test_the_obfuscated_ticket_age_adds_ticket_age_add(configs):
    session = a_session(*configs)
    _, hello = hello_of(ClientConnection(configs[0], session=session))
    [(identity, age)] = hello.pre_shared_key.identities
    assert identity == session.ticket
    assert 0 <= (age - session._age_add) % 2**32 < 60_000  # milliseconds since it came
    assert hello.psk_key_exchange_modes == b"\x01"  # psk_dhe_ke


def test_the_session_cache_uses_each_ticket_once(configs):
    client_cfg, server_cfg = configs
    connect(client_cfg, server_cfg)
    assert len(client_cfg.session_cache) == 2
    _, _, events, _ = connect(client_cfg, server_cfg)
    assert completed(events).resumed and len(client_cfg.session_cache) == 2  # one used, one new


def test_a_config_without_a_cache_makes_full_handshakes(pki):
    client_cfg, server_cfg = client_config(pki, session_cache_size=0), server_config(pki)
    for _ in range(2):
        _, _, events, _ = connect(client_cfg, server_cfg)
        assert not completed(events).resumed and len(sessions(events)) == 2


def test_a_session_of_another_server_name_is_refused(configs):
    session = a_session(*configs)
    with pytest.raises(errors.LocalProtocolError):
        ClientConnection(configs[0], server_name="other.example", session=session)


def test_a_session_cache_keeps_names_apart_and_forgets_expired_tickets(configs):
    session = a_session(*configs)
    cache = SessionCache(2)
    cache.add(session)
    assert cache.take("other.example") is None
    assert cache.take("localhost", now=session.expires() + 1) is None
    cache.add(session)
    assert cache.take("localhost") is session and cache.take("localhost") is None


# --- what the server resumes, and what it passes over ------------------------------------------


def test_a_ticket_of_other_keys_gives_a_full_handshake(configs, pki):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    _, _, events, server_events = connect(client_cfg, server_config(pki), session=session)
    assert not completed(events).resumed and not completed(server_events).resumed


def test_a_ticket_past_its_lifetime_gives_a_full_handshake(pki, configs, monkeypatch):
    client_cfg = configs[0]
    server_cfg = server_config(pki, ticket_lifetime=60)
    session = a_session(client_cfg, server_cfg)
    import engine.tls.resumption as resumption

    real = resumption.time.time
    monkeypatch.setattr(resumption.time, "time", lambda: real() + 61)
    _, _, events, _ = connect(client_cfg, server_cfg, session=session)
    assert not completed(events).resumed


def test_a_ticket_of_another_hash_gives_a_full_handshake(pki):
    client_cfg = client_config(pki)
    keys = TicketKeys()
    sha256 = server_config(pki, cipher_suites=("TLS_AES_128_GCM_SHA256",), ticket_keys=keys)
    sha384 = server_config(pki, cipher_suites=("TLS_AES_256_GCM_SHA384",), ticket_keys=keys)
    session = a_session(client_cfg, sha256)
    _, _, events, _ = connect(client_cfg, sha384, session=session)
    assert not completed(events).resumed
    chacha = server_config(pki, cipher_suites=("TLS_CHACHA20_POLY1305_SHA256",), ticket_keys=keys)
    _, _, events, _ = connect(client_cfg, chacha, session=a_session(client_cfg, sha256))
    assert completed(events).resumed and completed(events).cipher_suite.startswith("TLS_CHACHA")


def test_a_ticket_for_another_server_name_gives_a_full_handshake(configs):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    session.server_name = "127.0.0.1"  # as if the name had changed: the server checks too
    _, _, events, _ = connect(client_cfg, server_cfg, server_name="127.0.0.1", session=session)
    assert not completed(events).resumed


def test_garbage_tickets_give_a_full_handshake(configs):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    for ticket in (b"x", bytes(200), session.ticket[:-1] + bytes([session.ticket[-1] ^ 1])):
        session.ticket = ticket
        _, _, events, _ = connect(client_cfg, server_cfg, session=session)
        assert not completed(events).resumed


def test_a_wrong_binder_is_decrypt_error(configs):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    message, _ = hello_of(ClientConnection(client_cfg, session=session))
    forged = message[:-1] + bytes([message[-1] ^ 1])
    server = ServerConnection(server_cfg)
    with pytest.raises(errors.DecryptError):
        server.receive_data(plaintext_records(22, forged))
    assert server.data_to_send()[-1] == AlertDescription.decrypt_error


def test_a_psk_without_key_exchange_modes_is_missing_extension(configs):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    client = ClientConnection(client_cfg, session=session)
    _, hello = hello_of(client)
    hello.psk_key_exchange_modes = None
    server = ServerConnection(server_cfg)
    with pytest.raises(errors.MissingExtensionError):
        server.receive_data(plaintext_records(22, codec.build_client_hello(hello)))


def test_psk_ke_resumes_without_a_key_exchange_when_both_sides_allow_it(pki):
    modes = ("psk_ke", "psk_dhe_ke")
    client_cfg = client_config(pki, psk_key_exchange_modes=modes)
    server_cfg = server_config(pki, psk_key_exchange_modes=modes)
    connect(client_cfg, server_cfg)
    _, _, events, server_events = connect(client_cfg, server_cfg)
    assert completed(events).resumed and completed(events).group is None
    assert completed(server_events).group is None


def test_psk_dhe_ke_is_the_default_even_if_the_client_allows_psk_ke(pki, configs):
    client_cfg = client_config(pki, psk_key_exchange_modes=("psk_ke", "psk_dhe_ke"))
    connect(client_cfg, configs[1])
    _, _, events, _ = connect(client_cfg, configs[1])
    assert completed(events).resumed and completed(events).group == "x25519"


def test_a_server_with_no_psk_mode_sends_no_tickets_and_resumes_nothing(pki, configs):
    server_cfg = server_config(pki, psk_key_exchange_modes=())
    _, _, events, _ = connect(configs[0], server_cfg)
    assert sessions(events) == []
    session = a_session(*configs)
    _, _, events, _ = connect(configs[0], server_config(pki, psk_key_exchange_modes=(),
                                                        ticket_keys=configs[1].ticket_keys),
                              session=session)
    assert not completed(events).resumed


def test_ticket_count_sets_the_tickets_of_a_full_handshake(pki, configs):
    for count in (0, 1, 4):
        _, _, events, _ = connect(configs[0], server_config(pki, ticket_count=count))
        assert len(sessions(events)) == count


def test_a_client_asking_no_tickets_gets_none(pki, configs):
    client_cfg = client_config(pki, psk_key_exchange_modes=())
    _, hello = hello_of(ClientConnection(client_cfg))
    assert hello.psk_key_exchange_modes is None
    _, _, events, _ = connect(client_cfg, configs[1])
    assert sessions(events) == []


def test_resumption_after_a_hello_retry_request_binds_the_new_transcript(pki):
    client_cfg = client_config(pki)
    server_cfg = server_config(pki, groups=("secp256r1",))  # the client sends x25519 only
    connect(client_cfg, server_cfg)
    _, _, events, _ = connect(client_cfg, server_cfg)
    assert completed(events).resumed and completed(events).group == "secp256r1"


def test_client_authentication_is_carried_by_the_ticket(pki):
    client_cfg = client_config(pki, certificate=pki.client)
    server_cfg = server_config(pki, verify_client="require", trust=pki.trust)
    _, _, _, first = connect(client_cfg, server_cfg)
    _, _, _, resumed = connect(client_cfg, server_cfg)
    assert completed(resumed).resumed
    assert completed(resumed).peer_chain == completed(first).peer_chain != ()


def test_a_client_authenticated_ticket_resumes_only_where_its_chain_is_held(pki):
    client_cfg = client_config(pki, certificate=pki.client)
    keys = TicketKeys()
    issuing = server_config(pki, verify_client="require", trust=pki.trust, ticket_keys=keys)
    other = server_config(pki, verify_client="require", trust=pki.trust, ticket_keys=keys)
    session = a_session(client_cfg, issuing)
    assert len(session.ticket) < 200  # a digest of the chain, not the chain
    _, _, events, server_events = connect(client_cfg, other, session=session)
    assert not completed(events).resumed  # another process: the client authenticates again
    assert completed(server_events).peer_chain[0] == pki.client.certificate


def test_a_ticket_without_client_authentication_is_not_resumed_where_it_is_required(pki):
    client_cfg = client_config(pki, certificate=pki.client)
    keys = TicketKeys()
    session = a_session(client_cfg, server_config(pki, ticket_keys=keys))
    requiring = server_config(pki, verify_client="require", trust=pki.trust, ticket_keys=keys)
    _, _, events, _ = connect(client_cfg, requiring, session=session)
    assert not completed(events).resumed


# --- the client's checks of the server -------------------------------------------------------


def test_a_server_selecting_a_psk_nobody_offered_is_unsupported_extension(pki):
    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki))
    server.receive_data(client.data_to_send())
    wire = server.data_to_send()
    hello_record = records(wire)[0][1]
    hello = codec.parse_server_hello(hello_record[9:])
    hello.pre_shared_key = 0
    with pytest.raises(errors.UnsupportedExtensionError):
        client.receive_data(plaintext_records(22, codec.build_server_hello(hello)))


def test_a_server_selecting_a_psk_identity_out_of_range_is_illegal_parameter(configs):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    client = ClientConnection(client_cfg, session=session)
    server = ServerConnection(server_cfg)
    server.receive_data(client.data_to_send())
    hello = codec.parse_server_hello(records(server.data_to_send())[0][1][9:])
    hello.pre_shared_key = 1
    with pytest.raises(errors.IllegalParameterError):
        client.receive_data(plaintext_records(22, codec.build_server_hello(hello)))


def test_a_ticket_with_a_lifetime_of_zero_is_dropped(pki, configs):
    from tests._support.pairs import sealed

    client, server, _, _ = connect(client_config(pki, session_cache_size=0), configs[1])
    ticket = codec.build_new_session_ticket(codec.NewSessionTicket(0, 1, b"\x00", b"t"))
    assert client.receive_data(sealed(server, ticket, content_type=22)) == []
    assert client.session is not None  # the two real ones came before


# --- ticket keys -------------------------------------------------------------------------------


def test_servers_sharing_a_key_file_resume_each_others_tickets(pki, tmp_path):
    path = tmp_path / "tickets.keys"
    path.write_text("# ticket keys\n" + new_key_file_line())
    one = server_config(pki, ticket_keys=TicketKeys.from_file(path))
    two = server_config(pki, ticket_keys=TicketKeys.from_file(path))
    client_cfg = client_config(pki)
    _, _, events, _ = connect(client_cfg, two, session=a_session(client_cfg, one))
    assert completed(events).resumed


def test_an_old_secret_second_in_the_file_still_opens_its_tickets(pki):
    old, new = new_key_file_line(), new_key_file_line()
    before = server_config(pki, ticket_keys=TicketKeys.from_bytes(old.encode()))
    after = server_config(pki, ticket_keys=TicketKeys.from_bytes((new + old).encode()))
    client_cfg = client_config(pki)
    _, _, events, _ = connect(client_cfg, after, session=a_session(client_cfg, before))
    assert completed(events).resumed
    without = server_config(pki, ticket_keys=TicketKeys.from_bytes(new.encode()))
    _, _, events, _ = connect(client_cfg, without, session=a_session(client_cfg, before))
    assert not completed(events).resumed


@pytest.mark.parametrize("text", ["", "# nothing\n", "abcd\n", "zz" * 32 + "\n"])
def test_bad_key_files_are_local_errors(text):
    with pytest.raises(errors.LocalProtocolError):
        TicketKeys.from_bytes(text.encode())


@pytest.mark.parametrize("shared", [False, True])
def test_keys_rotate_and_retire_after_the_ticket_lifetime(shared):
    now = [1_000_000.0]
    keys = TicketKeys([bytes(32)] if shared else None, rotation=100, clock=lambda: now[0])
    ticket = keys.seal(b"state", lifetime=300)
    now[0] += 250  # two rotations later: still within the lifetime
    assert keys.open(ticket, lifetime=300) == b"state"
    assert keys.seal(b"state", 300)[4:8] != ticket[4:8]  # a new key seals
    now[0] += 200  # the key's period ended more than a lifetime ago
    assert keys.open(ticket, lifetime=300) is None


def test_a_process_key_is_forgotten_once_retired(configs):
    now = [1_000_000.0]
    keys = TicketKeys(rotation=100, clock=lambda: now[0])
    ticket = keys.seal(b"state", lifetime=100)
    now[0] += 1000
    keys.seal(b"other", lifetime=100)  # sealing forgets the keys no live ticket can use
    now[0] -= 1000
    assert keys.open(ticket, lifetime=100) is None  # even if the clock comes back


def test_server_config_checks_its_ticket_fields(pki):
    for options in ({"ticket_count": -1}, {"ticket_lifetime": 0},
                    {"ticket_lifetime": 604801}, {"psk_key_exchange_modes": ("psk_x",)},
                    {"max_early_data": -1}, {"ticket_keys": b"k" * 32},
                    {"anti_replay": "yes"}):
        with pytest.raises(errors.LocalProtocolError):
            server_config(pki, **options)


def test_run_to_failure_reports_binder_errors_on_the_client_too(configs):
    client_cfg, server_cfg = configs
    session = a_session(client_cfg, server_cfg)
    session._psk = bytes(32)  # a client that lost the right PSK
    failures = run_to_failure(ClientConnection(client_cfg, session=session),
                              ServerConnection(server_cfg))
    assert isinstance(failures["server"], errors.DecryptError)
    assert isinstance(failures["client"], errors.PeerAlertError)
