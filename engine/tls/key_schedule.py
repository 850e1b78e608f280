"""The TLS 1.3 key schedule (RFC 8446 section 7.1) and its transcript hash (4.4.1).

HKDF (RFC 5869) is built on HMAC from OpenSSL through :func:`hmac.digest`; the transcript hash is an
OpenSSL hash object through :mod:`hashlib`, copied when a snapshot is needed.

    0 -> HKDF-Extract = Early Secret -> Derive-Secret(., "derived", "")
    (EC)DHE -> HKDF-Extract = Handshake Secret -> c/s hs traffic, Derive-Secret(., "derived", "")
    0 -> HKDF-Extract = Master Secret -> c/s ap traffic, exp master, res master
"""

from __future__ import annotations

import hashlib

try:  # OpenSSL's one-shot HMAC, the one hmac.digest calls, without the wrapper
    from _hashlib import hmac_digest as _hmac_digest
except ImportError:  # pragma: no cover - a Python built without OpenSSL
    from hmac import digest as _hmac_digest

from .constants import CipherSuite


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM) (RFC 5869 section 2.2)."""
    return _hmac_digest(salt, ikm, hash_name)


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand(PRK, info, L) (RFC 5869 section 2.3)."""
    if length <= 32 or (length <= 48 and hash_name == "sha384"):  # one block: T(1)
        return _hmac_digest(prk, info + b"\x01", hash_name)[:length]
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = _hmac_digest(prk, block + info + bytes((counter,)), hash_name)
        out += block
        counter += 1
    return out[:length]


_LABELS: dict = {}  # (label, context length, length) -> HkdfLabel bytes up to the context


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel structure: uint16 length, opaque label<7..255>, opaque context<0..255>."""
    key = (label, len(context), length)
    head = _LABELS.get(key)
    if head is None:
        full = b"tls13 " + label
        head = length.to_bytes(2, "big") + bytes((len(full),)) + full + bytes((len(context),))
        if len(_LABELS) < 256:
            _LABELS[key] = head
    return head + context


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) (section 7.1).

    Every label of the key schedule fits one HMAC block (T(1)); that case is done inline.
    """
    head = _LABELS.get((label, len(context), length))
    if head is not None and (length <= 32 or (length <= 48 and hash_name == "sha384")):
        return _hmac_digest(secret, head + context + b"\x01", hash_name)[:length]
    return hkdf_expand(hash_name, secret, hkdf_label(label, context, length), length)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages) with Transcript-Hash(Messages) given (7.1)."""
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, len(transcript_hash))


def traffic_key(suite: CipherSuite, secret: bytes) -> tuple[bytes, bytes]:
    """[sender]_write_key and [sender]_write_iv from a traffic secret (section 7.3)."""
    key = hkdf_expand_label(suite.hash_name, secret, b"key", b"", suite.key_len)
    iv = hkdf_expand_label(suite.hash_name, secret, b"iv", b"", suite.iv_len)
    return key, iv


def next_traffic_secret(suite: CipherSuite, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 (section 7.2)."""
    return hkdf_expand_label(suite.hash_name, secret, b"traffic upd", b"", suite.hash_len)


def finished_key(suite: CipherSuite, base_key: bytes) -> bytes:
    return hkdf_expand_label(suite.hash_name, base_key, b"finished", b"", suite.hash_len)


def finished_verify_data(suite: CipherSuite, base_key: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, Transcript-Hash(...)) (section 4.4.4)."""
    return _hmac_digest(finished_key(suite, base_key), transcript_hash, suite.hash_name)


_EARLY = {}  # hash name -> (early secret, derived-from-early secret, empty hash)


def _early_values(hash_name: str, hash_len: int):
    values = _EARLY.get(hash_name)
    if values is None:
        empty = hashlib.new(hash_name).digest()
        early = hkdf_extract(hash_name, bytes(hash_len), bytes(hash_len))
        derived = derive_secret(hash_name, early, b"derived", empty)
        values = _EARLY[hash_name] = (early, derived, empty)
    return values


class KeySchedule:
    """Secrets of one connection, with the running transcript hash (no PSK: 1-RTT only).

    ``update(message)`` adds a handshake message to the transcript; the ``*_traffic`` methods
    derive the secrets of section 7.1 from the transcript as it stands.
    """

    __slots__ = ("suite", "hash_name", "_transcript", "handshake_secret", "master_secret",
                 "server_finished_hash")

    def __init__(self, suite: CipherSuite, transcript=None):
        self.suite = suite
        self.hash_name = suite.hash_name
        self._transcript = transcript if transcript is not None else hashlib.new(suite.hash_name)
        self.handshake_secret: bytes | None = None
        self.master_secret: bytes | None = None
        self.server_finished_hash: bytes | None = None  # set by application_traffic()

    @property
    def early_secret(self) -> bytes:
        return _early_values(self.hash_name, self.suite.hash_len)[0]

    def update(self, message: bytes) -> None:
        self._transcript.update(message)

    def transcript_hash(self) -> bytes:
        return self._transcript.copy().digest()

    def replace_client_hello(self, client_hello: bytes) -> None:
        """After a HelloRetryRequest: start over from message_hash(ClientHello1) (4.4.1)."""
        digest = hashlib.new(self.hash_name, client_hello).digest()
        self._transcript = hashlib.new(self.hash_name)
        self._transcript.update(bytes((254, 0, 0, len(digest))) + digest)

    def set_shared_secret(self, shared_secret: bytes) -> None:
        """Extract the Handshake Secret from the (EC)DHE shared secret and the Master Secret."""
        name = self.hash_name
        _, derived_early, empty = _early_values(name, self.suite.hash_len)
        self.handshake_secret = hkdf_extract(name, derived_early, shared_secret)
        derived = derive_secret(name, self.handshake_secret, b"derived", empty)
        self.master_secret = hkdf_extract(name, derived, bytes(self.suite.hash_len))

    def handshake_traffic(self) -> tuple[bytes, bytes]:
        """(client, server) handshake traffic secrets over ClientHello...ServerHello."""
        digest = self.transcript_hash()
        name = self.hash_name
        return (
            derive_secret(name, self.handshake_secret, b"c hs traffic", digest),
            derive_secret(name, self.handshake_secret, b"s hs traffic", digest),
        )

    def application_traffic(self) -> tuple[bytes, bytes]:
        """(client, server) application traffic secrets 0 over ClientHello...server Finished."""
        digest = self.server_finished_hash = self.transcript_hash()
        name = self.hash_name
        return (
            derive_secret(name, self.master_secret, b"c ap traffic", digest),
            derive_secret(name, self.master_secret, b"s ap traffic", digest),
        )

    def exporter_master_secret(self) -> bytes:
        """exporter_master_secret, over ClientHello...server Finished (section 7.1)."""
        digest = self.server_finished_hash or self.transcript_hash()
        return derive_secret(self.hash_name, self.master_secret, b"exp master", digest)

    def resumption_master_secret(self) -> bytes:
        digest = self.transcript_hash()
        return derive_secret(self.hash_name, self.master_secret, b"res master", digest)

    def finished(self, base_key: bytes) -> bytes:
        """verify_data for a Finished sent under ``base_key`` over the transcript so far."""
        return finished_verify_data(self.suite, base_key, self.transcript_hash())
