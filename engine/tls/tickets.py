"""Stateless session tickets: what a server seals into a ticket and the keys it seals them with
(RFC 8446 section 4.6.1; the construction of RFC 5077 section 4, with an AEAD).

A ticket is ``key_id (4) || period (4) || nonce (12) || AES-256-GCM(state) || tag (16)``, the
first 8 bytes authenticated as associated data. ``state`` is a :class:`TicketState`: what a
resumed connection must know (the PSK, the cipher suite, when the ticket was issued and for how
long, the obfuscation of its age, its early data allowance, the ALPN protocol and server name of
the connection, and a digest of the client's certificate chain). The chain itself stays with
the server in a :class:`PeerChains` memo, which keeps tickets small (about 130 bytes); a
ticket of a client-authenticated connection is resumed only where the memo still holds its
chain (the process that issued it), else the client authenticates again in a full handshake.

Keys rotate on a schedule: time is cut into periods of ``rotation`` seconds and every period
has its own key. A server opens tickets sealed under the key of any period that may still hold
a live ticket (within the ticket lifetime), so retiring a key never cuts a ticket short. The
keys come from one of two places:

- ``TicketKeys()``: a random key per period, made when the period starts and forgotten once no
  live ticket can use it. Tickets open only in this process; a ticket older than lifetime plus
  one rotation can no longer be opened by anyone (forward secrecy for old sessions).
- ``TicketKeys([secret, ...])``, :meth:`TicketKeys.from_file` or :meth:`TicketKeys.from_bytes`:
  the key of each period is derived from a shared secret with HKDF (SHA-256), so every server
  process given the same secrets seals and opens the same tickets without talking to the others.
  The first secret seals, the others only open: to replace a secret, put the new one first and
  keep the old one second for one ticket lifetime. Whoever holds a secret can open every ticket
  sealed under it; keep the key file as private as the certificate's private key.

The key file holds one secret per line as 64 hexadecimal digits (32 bytes); blank lines and
lines starting with ``#`` are ignored. :func:`new_key_file_line` makes a line.
"""

from __future__ import annotations

import collections
import hashlib
import os
import struct
import threading
import time
from typing import Literal, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import DecodeError, LocalProtocolError
from .wire import Reader, opaque8, opaque24

SECRET_SIZE = 32
_HEADER = 8  # key_id and period, authenticated
_NONCE = 12
_TAG = 16
_VERSION = 1
_FIXED = struct.Struct(">QIII")  # issued (ms), lifetime (s), ticket_age_add, max_early_data
_SALT = b"engine tls13 session ticket keys"


def new_key_file_line() -> str:
    """A fresh random secret as a line of a ticket key file."""
    return os.urandom(SECRET_SIZE).hex() + "\n"


class TicketState:
    """What a ticket carries for the server that will resume it (RFC 8446 section 4.6.1).

    ``issued`` is in milliseconds since the epoch; ``lifetime`` in seconds; ``peer_chain`` the
    digest of the client's certificate chain (:meth:`PeerChains.digest`; empty without client
    authentication).
    """

    __slots__ = ("suite_code", "psk", "issued", "lifetime", "age_add", "max_early_data",
                 "alpn", "server_name", "peer_chain")

    def __init__(self, suite_code: int, psk: bytes, issued: int, lifetime: int, age_add: int,
                 max_early_data: int = 0, alpn: bytes | None = None,
                 server_name: str | None = None, peer_chain: bytes = b""):
        self.suite_code = suite_code
        self.psk = psk
        self.issued = issued
        self.lifetime = lifetime
        self.age_add = age_add
        self.max_early_data = max_early_data
        self.alpn = alpn
        self.server_name = server_name
        self.peer_chain = peer_chain

    def __repr__(self) -> str:  # never the PSK
        return "TicketState(suite=0x%04x, issued=%d, lifetime=%d)" % (
            self.suite_code, self.issued, self.lifetime)

    def to_bytes(self) -> bytes:
        name = self.server_name.encode("ascii") if self.server_name else b""
        return b"".join((
            bytes((_VERSION,)), self.suite_code.to_bytes(2, "big"), opaque8(self.psk),
            _FIXED.pack(self.issued, self.lifetime, self.age_add, self.max_early_data),
            bytes((0,)) if self.alpn is None else opaque8(self.alpn), opaque8(name),
            opaque8(self.peer_chain),
        ))

    @classmethod
    def from_bytes(cls, data: bytes) -> "TicketState":
        """The state sealed in a ticket; DecodeError for bytes that are not one."""
        size = len(data)
        if size < 4 or data[0] != _VERSION:
            raise DecodeError("ticket state of an unknown version")
        psk_len = data[3]
        pos = 4 + psk_len
        if size < pos + _FIXED.size + 1:
            raise DecodeError("ticket state truncated")
        issued, lifetime, age_add, max_early_data = _FIXED.unpack_from(data, pos)
        reader = Reader(data, pos + _FIXED.size)
        alpn = reader.opaque(1) or None
        name = reader.opaque(1).decode("ascii", "replace") or None
        chain = reader.opaque(1)
        reader.expect_end()
        return cls((data[1] << 8) | data[2], data[4:4 + psk_len], issued, lifetime, age_add,
                   max_early_data, alpn, name, chain)


class PeerChains:
    """The client certificate chains of a server's tickets, by digest; the least recently used
    goes once ``size`` are held. Safe to share between threads."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._chains: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def digest(chain) -> bytes:
        """SHA-256 over the chain's DER certificates, each with its length."""
        ders = [c if isinstance(c, bytes) else c.public_bytes(Encoding.DER) for c in chain]
        return hashlib.sha256(b"".join(opaque24(der) for der in ders)).digest()

    def add(self, chain: tuple) -> bytes:
        """Keep ``chain`` (cryptography certificates); its digest for a ticket."""
        key = self.digest(chain)
        with self._lock:
            self._chains[key] = chain
            self._chains.move_to_end(key)
            if len(self._chains) > self.size:
                self._chains.popitem(last=False)
        return key

    def get(self, key: bytes) -> tuple | None:
        with self._lock:
            chain = self._chains.get(key)
            if chain is not None:
                self._chains.move_to_end(key)
            return chain


def _checked_secret(secret) -> bytes:
    if not isinstance(secret, (bytes, bytearray)):
        raise LocalProtocolError("a ticket key secret is bytes, not %s" % type(secret).__name__)
    if len(secret) < SECRET_SIZE:
        raise LocalProtocolError("a ticket key secret needs at least %d bytes" % SECRET_SIZE)
    return bytes(secret)


class TicketKeys:
    """The keys that seal and open session tickets, rotated every ``rotation`` seconds.

    ``secrets`` None: random keys of this process; else shared secrets, the first one sealing
    (see the module docstring). ``clock`` gives seconds since the epoch (time.time).
    """

    def __init__(self, secrets=None, *, rotation: float = 3600.0, clock=time.time):
        if not isinstance(rotation, (int, float)) or not 1 <= rotation <= 7 * 86400:
            raise LocalProtocolError("ticket key rotation must be 1 second to 7 days")
        if secrets is not None:
            if isinstance(secrets, (bytes, bytearray)):
                raise LocalProtocolError("secrets is a list of secrets, not one bytes value")
            secrets = [_checked_secret(s) for s in secrets]
            if not secrets:
                raise LocalProtocolError("at least one ticket key secret is needed")
        self.rotation = float(rotation)
        self._clock = clock
        self._shared = secrets is not None
        self._secrets = secrets or [os.urandom(SECRET_SIZE)]
        self._ids = [HKDF(hashes.SHA256(), 4, _SALT, b"key id").derive(s) for s in self._secrets]
        self._keys: dict = {}  # (secret index, period) -> AESGCM
        self._sealing: tuple[int, AESGCM] | None = None  # (period, AESGCM) of the current period
        self._lock = threading.Lock()

    @classmethod
    def from_bytes(cls, data: bytes, **options) -> "TicketKeys":
        """Keys from the contents of a ticket key file (see the module docstring)."""
        try:
            text = bytes(data).decode("ascii")
        except UnicodeDecodeError:
            raise LocalProtocolError("a ticket key file is ASCII text") from None
        secrets = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                secret = bytes.fromhex(line)
            except ValueError:
                secret = b""
            if len(secret) != SECRET_SIZE:
                raise LocalProtocolError("ticket key file line %d is not %d hexadecimal digits"
                                         % (number, 2 * SECRET_SIZE))
            secrets.append(secret)
        if not secrets:
            raise LocalProtocolError("the ticket key file holds no secret")
        return cls(secrets, **options)

    @classmethod
    def from_file(cls, path, **options) -> "TicketKeys":
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise LocalProtocolError("cannot read the ticket key file %s: %s"
                                     % (path, exc.strerror or exc)) from None
        return cls.from_bytes(data, **options)

    @property
    def shared(self) -> bool:
        """True when the keys come from shared secrets (other processes can open tickets)."""
        return self._shared

    @overload
    def _key(self, index: int, period: int, create: Literal[True]) -> AESGCM: ...

    @overload
    def _key(self, index: int, period: int, create: bool) -> AESGCM | None: ...

    def _key(self, index: int, period: int, create: bool) -> AESGCM | None:
        with self._lock:
            key = self._keys.get((index, period))
            if key is not None:
                return key
            if self._shared:
                info = b"ticket key" + period.to_bytes(4, "big")
                prk = HKDF(hashes.SHA256(), 32, _SALT, b"extract").derive(self._secrets[index])
                raw = HKDFExpand(hashes.SHA256(), 32, info).derive(prk)
            elif create:
                raw = os.urandom(32)
            else:
                return None  # a random key that was never made, or was forgotten
            key = self._keys[(index, period)] = AESGCM(raw)
            return key

    def _forget(self, oldest: int) -> None:
        """Drop the keys of periods before ``oldest``: no live ticket uses them."""
        with self._lock:
            for index, period in [k for k in self._keys if k[1] < oldest]:
                del self._keys[(index, period)]

    def seal(self, state: bytes, lifetime: int) -> bytes:
        """A ticket holding ``state`` under the key of the current period."""
        now = self._clock()
        period = int(now // self.rotation)
        key = self._sealing
        if key is None or key[0] != period:
            self._forget(self._oldest(now, lifetime))
            key = self._sealing = (period, self._key(0, period, True))
        aead = key[1]
        header = self._ids[0] + period.to_bytes(4, "big")
        nonce = os.urandom(_NONCE)
        return header + nonce + aead.encrypt(nonce, state, header)

    def open(self, ticket: bytes, lifetime: int) -> bytes | None:
        """The state in a ticket, or None for a ticket of other keys, of a key retired (older
        than ``lifetime`` seconds and one rotation), or altered."""
        if len(ticket) < _HEADER + _NONCE + _TAG:
            return None
        try:
            index = self._ids.index(ticket[:4])
        except ValueError:
            return None
        period = int.from_bytes(ticket[4:8], "big")
        now = self._clock()
        if not self._oldest(now, lifetime) <= period <= now // self.rotation + 1:  # +1: skew
            return None
        key = self._key(index, period, False)
        if key is None:
            return None
        try:
            return key.decrypt(ticket[_HEADER:_HEADER + _NONCE], ticket[_HEADER + _NONCE:],
                               ticket[:_HEADER])
        except InvalidTag:
            return None

    def _oldest(self, now: float, lifetime: int) -> int:
        """The first period whose key may have sealed a ticket still alive: one that ended
        less than ``lifetime`` seconds ago."""
        return int((now - lifetime) // self.rotation)

    def __repr__(self) -> str:
        return "TicketKeys(%s, rotation=%gs)" % (
            "%d shared secrets" % len(self._secrets) if self._shared else "random", self.rotation)
