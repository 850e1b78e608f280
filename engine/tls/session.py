"""What a client keeps to resume: :class:`Session` and the per-ClientConfig :class:`SessionCache`
(RFC 8446 sections 2.2 and 4.6.1).

A :class:`Session` is made from each NewSessionTicket the server sends after the handshake: the
ticket, the PSK derived from it, when it was received and for how long it lives, the server's
``ticket_age_add``, its 0-RTT allowance, and the facts of the connection it came from (cipher
suite, ALPN protocol, server name, the server's verified chain). Pass it back as
``ClientConnection(config, server_name, session=...)``; :meth:`Session.to_bytes` and
:meth:`Session.from_bytes` keep it in a file (it holds a secret: keep the file private).

Every ClientConfig keeps a small :class:`SessionCache` (``session_cache_size`` server names, 0
to turn it off): the tickets a connection receives go into it, and a connection made without an
explicit session takes the newest live one for its server name. Each ticket is used once
(RFC 8446 appendix C.4: reusing one would let an observer link the connections); the server
sends new tickets on every connection, two by default. Python's ``ssl`` and OpenSSL leave
client-side reuse to the caller; like rustls and browsers, this engine resumes by default.
"""

from __future__ import annotations

import collections
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import DecodeError, LocalProtocolError
from .constants import MAX_TICKET_LIFETIME, SUITE_BY_CODE, SUITE_BY_NAME
from .wire import Reader, opaque8, opaque16, opaque24

_MAGIC = b"ETLS\x01"  # a serialised Session, version 1
TICKETS_PER_NAME = 8  # tickets kept per server name, the newest used first


class Session:
    """A resumable TLS 1.3 session: one ticket and what goes with it (RFC 8446 4.6.1).

    ``received`` is when the ticket arrived, in seconds since the epoch; ``lifetime`` in
    seconds; ``peer_chain`` the server's chain as verified on the first connection
    (cryptography certificates, leaf first). The PSK and ``ticket_age_add`` are never shown.
    """

    __slots__ = ("server_name", "cipher_suite", "ticket", "lifetime", "received",
                 "max_early_data", "alpn_protocol", "_psk", "_age_add", "_chain")

    def __init__(self, *, server_name: str | None, cipher_suite: str, psk: bytes, ticket: bytes,
                 lifetime: int, ticket_age_add: int, received: float, max_early_data: int = 0,
                 alpn_protocol: str | None = None, peer_chain: tuple = ()):
        if cipher_suite not in SUITE_BY_NAME:
            raise LocalProtocolError("unknown cipher suite %r" % cipher_suite)
        self.server_name = server_name
        self.cipher_suite = cipher_suite
        self.ticket = bytes(ticket)
        self.lifetime = min(int(lifetime), MAX_TICKET_LIFETIME)
        self.received = float(received)
        self.max_early_data = int(max_early_data)
        self.alpn_protocol = alpn_protocol
        self._psk = bytes(psk)
        self._age_add = int(ticket_age_add) & 0xFFFFFFFF
        self._chain = tuple(peer_chain)

    @property
    def suite(self):
        return SUITE_BY_NAME[self.cipher_suite]

    @property
    def psk(self) -> bytes:
        return self._psk

    @property
    def peer_chain(self) -> tuple:
        """The server's chain as verified when the session was made (parsed on first use)."""
        chain = self._chain
        if chain and isinstance(chain[0], (bytes, bytearray)):
            chain = self._chain = tuple(x509.load_der_x509_certificate(der) for der in chain)
        return chain

    def expires(self) -> float:
        return self.received + self.lifetime

    def is_valid(self, now: float | None = None) -> bool:
        """True while the ticket lives (its lifetime from when it was received)."""
        return (time.time() if now is None else now) < self.received + self.lifetime

    def obfuscated_age(self, now: float | None = None) -> int:
        """obfuscated_ticket_age: the ticket's age in milliseconds plus ticket_age_add, modulo
        2^32 (RFC 8446 section 4.2.11.1)."""
        age = int(((time.time() if now is None else now) - self.received) * 1000)
        return (max(age, 0) + self._age_add) & 0xFFFFFFFF

    def __repr__(self) -> str:
        return "Session(server_name=%r, cipher_suite=%r, expires in %ds, max_early_data=%d)" % (
            self.server_name, self.cipher_suite, max(0, self.expires() - time.time()),
            self.max_early_data)

    # --- bytes ------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The session as bytes for :meth:`from_bytes`; it holds the PSK: keep it private."""
        chain = b"".join(opaque24(c if isinstance(c, (bytes, bytearray))
                                  else c.public_bytes(Encoding.DER)) for c in self._chain)
        name = self.server_name.encode("ascii") if self.server_name else b""
        alpn = self.alpn_protocol.encode("latin-1") if self.alpn_protocol is not None else b""
        return b"".join((
            _MAGIC, self.suite.code.to_bytes(2, "big"), opaque8(self._psk),
            opaque16(self.ticket), self.lifetime.to_bytes(4, "big"),
            self._age_add.to_bytes(4, "big"), int(self.received * 1000).to_bytes(8, "big"),
            self.max_early_data.to_bytes(4, "big"), opaque8(alpn), opaque8(name),
            opaque24(chain),
        ))

    @classmethod
    def from_bytes(cls, data) -> "Session":
        """A session from :meth:`to_bytes`; LocalProtocolError for bytes that are not one."""
        data = bytes(data)
        if not data.startswith(_MAGIC):
            raise LocalProtocolError("not a saved engine TLS session")
        try:
            reader = Reader(data, len(_MAGIC))
            suite = SUITE_BY_CODE.get(reader.uint16())
            psk = reader.opaque(1, minimum=32)
            ticket = reader.opaque(2, minimum=1)
            lifetime, age_add = reader.uint32(), reader.uint32()
            received = int.from_bytes(reader.bytes(8), "big") / 1000
            max_early_data = reader.uint32()
            alpn = reader.opaque(1)
            name = reader.opaque(1)
            chain = []
            with reader.vector(3):
                while not reader.at_end():
                    chain.append(reader.opaque(3, minimum=1))
            reader.expect_end()
            if suite is None:
                raise DecodeError("unknown cipher suite")
            server_name = name.decode("ascii") if name else None
        except (DecodeError, UnicodeDecodeError) as exc:
            raise LocalProtocolError("damaged saved TLS session: %s" % exc) from None
        return cls(server_name=server_name, cipher_suite=suite.name, psk=psk, ticket=ticket,
                   lifetime=lifetime, ticket_age_add=age_add, received=received,
                   max_early_data=max_early_data,
                   alpn_protocol=alpn.decode("latin-1") if alpn else None,
                   peer_chain=tuple(chain))


class SessionCache:
    """Sessions by server name, at most ``size`` names and :data:`TICKETS_PER_NAME` tickets
    each, the least recently used name dropped first; safe to share between threads."""

    def __init__(self, size: int = 256):
        self.size = size
        self._by_name: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(tickets) for tickets in self._by_name.values())

    def add(self, session: Session) -> None:
        """Keep ``session`` for its server name (the oldest ticket of the name goes when full)."""
        if self.size <= 0:
            return
        key = session.server_name
        with self._lock:
            tickets = self._by_name.get(key)
            if tickets is None:
                tickets = self._by_name[key] = collections.deque(maxlen=TICKETS_PER_NAME)
                if len(self._by_name) > self.size:
                    self._by_name.popitem(last=False)
            else:
                self._by_name.move_to_end(key)
            tickets.append(session)

    def take(self, server_name: str | None, now: float | None = None) -> Session | None:
        """The newest live session for ``server_name``, removed (one use per ticket)."""
        if self.size <= 0:
            return None
        now = time.time() if now is None else now
        with self._lock:
            tickets = self._by_name.get(server_name)
            while tickets:
                session = tickets.pop()
                if session.is_valid(now):
                    return session
            if tickets is not None:
                del self._by_name[server_name]
            return None

    def clear(self) -> None:
        with self._lock:
            self._by_name.clear()
