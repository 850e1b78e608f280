"""The PSK parts of the handshake: offering a ticket, checking one, issuing them (RFC 8446
sections 2.2, 2.3, 4.2.9 to 4.2.11, 4.6.1).

Client: :func:`offered_psk` puts a session's ticket in the ClientHello's pre_shared_key and
:func:`bind` fills in its binder (an HMAC under the binder key over the ClientHello up to the
binders, 4.2.11.2); :func:`session_from_ticket` turns a NewSessionTicket into a
:class:`~engine.tls.session.Session`.

Server: :func:`accept_psk` opens the tickets a ClientHello offers and checks the binder of the
first one it can resume (a ticket of other keys, expired, of another hash, server name or
client authentication is passed over, and a full handshake follows if none is left; a binder
that does not verify is decrypt_error); :func:`accept_early_data` applies the 0-RTT rules of
4.2.10 and the anti-replay defence of section 8; :func:`new_session_tickets` seals the tickets
sent after the handshake.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

from ..errors import DecodeError, DecryptError, MissingExtensionError
from . import codec
from .constants import SUITE_BY_CODE, PskKeyExchangeMode
from .extensions import OfferedPsks
from .session import Session
from .tickets import TicketState

PSK_KE = PskKeyExchangeMode.psk_ke
PSK_DHE_KE = PskKeyExchangeMode.psk_dhe_ke
MAX_IDENTITIES = 8  # identities of one ClientHello tried at most


# --- client ------------------------------------------------------------------------------------


def offered_psk(session: Session, now: float | None = None) -> OfferedPsks:
    """pre_shared_key with the session's ticket and a zero binder, filled in by :func:`bind`."""
    return OfferedPsks([(session.ticket, session.obfuscated_age(now))],
                       [bytes(session.suite.hash_len)])


def bind(client_hello: bytes, suite, binder_key: bytes, kernels, transcript=None) -> bytes:
    """The ClientHello with its one binder computed over the truncated ClientHello, after
    ``transcript`` (the KeySchedule of a HelloRetryRequest) if given (4.2.11.2)."""
    size = suite.hash_len
    truncated = client_hello[:len(client_hello) - (3 + size)]
    if transcript is None:
        digest = hashlib.new(suite.hash_name, truncated).digest()
    else:
        digest = transcript.transcript_hash_with(truncated)
    binder = kernels.finished(suite, binder_key, digest)
    return truncated + (size + 1).to_bytes(2, "big") + bytes((size,)) + binder


def session_from_ticket(ticket: codec.NewSessionTicket, psk: bytes, suite, *, server_name,
                        alpn_protocol, peer_chain, now: float | None = None) -> Session:
    return Session(server_name=server_name, cipher_suite=suite.name, psk=psk,
                   ticket=ticket.ticket, lifetime=ticket.ticket_lifetime,
                   ticket_age_add=ticket.ticket_age_add,
                   received=time.time() if now is None else now,
                   max_early_data=ticket.max_early_data or 0, alpn_protocol=alpn_protocol,
                   peer_chain=peer_chain)


# --- server ------------------------------------------------------------------------------------


class Resumption:
    """The PSK a server accepted: the ticket's state and the client's chain, the identity
    index, the mode and the early stage of the key schedule."""

    __slots__ = ("state", "peer_chain", "index", "mode", "early", "client_age", "server_age",
                 "binder")

    def __init__(self, state: TicketState, peer_chain: tuple, index: int, mode: int, early,
                 client_age: int, server_age: int, binder: bytes):
        self.state = state
        self.peer_chain = peer_chain
        self.index = index
        self.mode = mode
        self.early = early
        self.client_age = client_age
        self.server_age = server_age
        self.binder = binder


def psk_mode(config, hello, dhe_possible: bool) -> int | None:
    """The first of our psk_key_exchange_modes that the client offers (4.2.9); psk_dhe_ke only
    if a key share can be used. MissingExtensionError for pre_shared_key without the modes."""
    if hello.psk_key_exchange_modes is None:
        raise MissingExtensionError("pre_shared_key without psk_key_exchange_modes (4.2.9)")
    for mode in config._prepared.psk_modes:
        if mode in hello.psk_key_exchange_modes and (mode == PSK_KE or dhe_possible):
            return mode
    return None


def accept_psk(config, hello, message: bytes, suite, schedule, mode: int,
               now: float | None = None) -> Resumption | None:
    """The first offered ticket this server can resume, its binder checked in constant time
    (DecryptError if it does not verify); None for a full handshake."""
    offered = hello.pre_shared_key
    now_ms = int((time.time() if now is None else now) * 1000)
    for index, (identity, obfuscated_age) in enumerate(offered.identities[:MAX_IDENTITIES]):
        opened = _open_ticket(config, identity, suite, hello.server_name, now_ms)
        if opened is None:
            continue
        state, peer_chain = opened
        early_data = hello.early_data and index == 0
        hello_hash = hashlib.new(suite.hash_name, message).digest() if early_data else None
        early = schedule.early(state.psk, hello_hash)
        truncated = memoryview(message)[:len(message) - offered.binders_size]
        expected = schedule.binder(early.binder_key, schedule.transcript_hash_with(truncated))
        binder = offered.binders[index]
        if not hmac.compare_digest(expected, binder):
            raise DecryptError("the PSK binder does not verify (4.2.11)")
        client_age = (obfuscated_age - state.age_add) & 0xFFFFFFFF
        return Resumption(state, peer_chain, index, mode, early, client_age,
                          now_ms - state.issued, binder)
    return None


def _open_ticket(config, identity: bytes, suite, server_name, now_ms: int):
    """(state, client chain) of a ticket this server can resume here, else None."""
    sealed = config.ticket_keys.open(identity, config.ticket_lifetime)
    if sealed is None:
        return None
    try:
        state = TicketState.from_bytes(sealed)
    except DecodeError:
        return None
    ticket_suite = SUITE_BY_CODE.get(state.suite_code)
    if (ticket_suite is None or ticket_suite.hash_name != suite.hash_name
            or not 0 <= now_ms - state.issued <= 1000 * min(state.lifetime, config.ticket_lifetime)
            or state.server_name != server_name
            or (config.verify_client == "require" and not state.peer_chain)):
        return None
    if not state.peer_chain:
        return state, ()
    chain = config._peer_chains.get(state.peer_chain)
    if chain is None:
        return None  # a client-authenticated session whose chain we no longer hold: full
    return state, chain


def accept_early_data(config, hello, resumption: Resumption, suite, alpn: bytes | None,
                      retried: bool) -> bool:
    """Whether to accept the client's 0-RTT data (4.2.10): the first identity, the ticket's
    suite and ALPN protocol, no HelloRetryRequest, then fresh and never seen (section 8)."""
    state = resumption.state
    if not (hello.early_data and resumption.index == 0 and config.max_early_data
            and state.max_early_data and not retried and state.suite_code == suite.code
            and state.alpn == alpn):
        return False
    guard = config.anti_replay
    if guard is False:
        return True
    return guard.fresh(resumption.client_age, resumption.server_age) and \
        guard.accept(resumption.binder)


def client_wants_tickets(config, hello) -> bool:
    """The client asked for tickets of a mode we resume with (4.2.9: a ticket of another mode
    would be of no use to it)."""
    modes = hello.psk_key_exchange_modes
    return bool(config.ticket_count and modes
                and any(mode in modes for mode in config._prepared.psk_modes))


def new_session_tickets(config, schedule, suite, count: int, *, alpn: bytes | None,
                        server_name, peer_chain: bytes, now: float | None = None) -> bytes:
    """``count`` NewSessionTicket messages, each with its own nonce, PSK and ticket_age_add
    (4.6.1), sealed with the config's ticket keys; ``peer_chain`` is the digest of the client's
    chain kept in the config's PeerChains (empty without client authentication)."""
    resumption_master = schedule.resumption_master_secret()
    lifetime = config.ticket_lifetime
    max_early_data = config.max_early_data
    issued = int((time.time() if now is None else now) * 1000)
    randoms = os.urandom(4 * count)
    messages = []
    for number in range(count):
        nonce = bytes((number,))
        age_add = int.from_bytes(randoms[4 * number:4 * number + 4], "big")
        state = TicketState(suite.code, schedule.ticket_psk(resumption_master, nonce), issued,
                            lifetime, age_add, max_early_data, alpn, server_name, peer_chain)
        ticket = config.ticket_keys.seal(state.to_bytes(), lifetime)
        messages.append(codec.build_new_session_ticket(codec.NewSessionTicket(
            lifetime, age_add, nonce, ticket, max_early_data=max_early_data or None)))
    return b"".join(messages)
