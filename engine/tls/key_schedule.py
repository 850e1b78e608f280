"""The TLS 1.3 key schedule (RFC 8446 section 7.1) and its transcript hash (4.4.1).

    PSK (or 0) -> HKDF-Extract = Early Secret -> binder key, c e traffic, e exp master,
                                                Derive-Secret(., "derived", "")
    (EC)DHE -> HKDF-Extract = Handshake Secret -> c/s hs traffic, Derive-Secret(., "derived", "")
    0 -> HKDF-Extract = Master Secret -> c/s ap traffic, exp master, res master

Each stage is one kernel call that derives every secret of the stage and the traffic keys and
IVs that go with them: :class:`NativeKernels` (csrc/engine_key_schedule.c, libcrypto's HMAC) or
:class:`PythonKernels` (HKDF on OpenSSL's HMAC through :func:`hmac.digest`), giving the same
bytes; engine._backend.key_schedule_kernels picks them. :class:`KeySchedule` keeps one connection's transcript hash (an OpenSSL hash object
through :mod:`hashlib`, copied when a snapshot is needed) and its secrets.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

try:  # OpenSSL's one-shot HMAC, the one hmac.digest calls, without the wrapper
    from _hashlib import hmac_digest as _hmac_digest
except ImportError:  # pragma: no cover - a Python built without OpenSSL
    from hmac import digest as _hmac_digest  # type: ignore[assignment]  # takes more key types

from .. import _backend
from .constants import CipherSuite

IV_LEN = 12


# --- HKDF (RFC 5869) with the TLS 1.3 labels, in Python ----------------------------------


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
    key = hkdf_expand_label(suite.hash_name, secret, b"key", b"", suite.key_size)
    iv = hkdf_expand_label(suite.hash_name, secret, b"iv", b"", IV_LEN)
    return key, iv


def next_traffic_secret(suite: CipherSuite, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 (section 7.2)."""
    return hkdf_expand_label(suite.hash_name, secret, b"traffic upd", b"", suite.hash_len)


def finished_key(suite: CipherSuite, base_key: bytes) -> bytes:
    return hkdf_expand_label(suite.hash_name, base_key, b"finished", b"", suite.hash_len)


def finished_verify_data(suite: CipherSuite, base_key: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, Transcript-Hash(...)) (section 4.4.4)."""
    return _hmac_digest(finished_key(suite, base_key), transcript_hash, suite.hash_name)


# --- the stages --------------------------------------------------------------------------


class TrafficKeys(NamedTuple):
    """A traffic secret with the record key and IV it gives (section 7.3)."""

    secret: bytes
    key: bytes
    iv: bytes


class EarlyStage(NamedTuple):
    """What the early stage derives from a PSK (section 7.1): the early secret and the binder
    key (section 4.2.11.2); with the hash of the ClientHello, also the client early traffic
    secret (0-RTT keys) and the early exporter master secret, else None."""

    secret: bytes
    binder_key: bytes
    client_early_traffic: bytes | None
    early_exporter: bytes | None


class Stage(NamedTuple):
    """What the handshake or application stage derives (section 7.1).

    ``client``/``server``: the traffic secrets of each side with their keys; ``secret``: the
    master secret (handshake stage) or the exporter master secret (application stage).
    """

    client: TrafficKeys
    server: TrafficKeys
    secret: bytes


_EARLY: dict = {}  # hash name -> (early secret with no PSK, its "derived" secret, Hash(""))


def _no_psk(hash_name: str, hash_len: int):
    values = _EARLY.get(hash_name)
    if values is None:
        empty = hashlib.new(hash_name).digest()
        early = hkdf_extract(hash_name, bytes(hash_len), bytes(hash_len))
        derived = derive_secret(hash_name, early, b"derived", empty)
        values = _EARLY[hash_name] = (early, derived, empty)
    return values


class PythonKernels:
    """The stages in Python (HMAC from OpenSSL through hashlib)."""

    name = "python"

    @staticmethod
    def early(suite: CipherSuite, psk: bytes, external: bool,
              hello_hash: bytes | None) -> EarlyStage:
        """The early stage of a PSK: "ext binder" for an external PSK, else "res binder"."""
        name, size = suite.hash_name, suite.hash_len
        empty = _no_psk(name, size)[2]
        secret = hkdf_extract(name, bytes(size), psk or bytes(size))
        binder = derive_secret(name, secret, b"ext binder" if external else b"res binder", empty)
        if hello_hash is None:
            return EarlyStage(secret, binder, None, None)
        return EarlyStage(secret, binder, derive_secret(name, secret, b"c e traffic", hello_hash),
                          derive_secret(name, secret, b"e exp master", hello_hash))

    @staticmethod
    def expand_label(suite: CipherSuite, secret: bytes, label: bytes, context: bytes,
                     length: int) -> bytes:
        """HKDF-Expand-Label with the suite's hash (section 7.1)."""
        return hkdf_expand_label(suite.hash_name, secret, label, context, length)

    @staticmethod
    def handshake(suite: CipherSuite, early_secret: bytes | None, shared: bytes,
                  hello_hash: bytes) -> Stage:
        name, size = suite.hash_name, suite.hash_len
        _, derived, empty = _no_psk(name, size)
        if early_secret is not None:
            derived = derive_secret(name, early_secret, b"derived", empty)
        secret = hkdf_extract(name, derived, shared)
        client = derive_secret(name, secret, b"c hs traffic", hello_hash)
        server = derive_secret(name, secret, b"s hs traffic", hello_hash)
        master = hkdf_extract(name, derive_secret(name, secret, b"derived", empty),
                              bytes(size))
        return Stage(TrafficKeys(client, *traffic_key(suite, client)),
                     TrafficKeys(server, *traffic_key(suite, server)), master)

    @staticmethod
    def application(suite: CipherSuite, master: bytes, finished_hash: bytes) -> Stage:
        name = suite.hash_name
        client = derive_secret(name, master, b"c ap traffic", finished_hash)
        server = derive_secret(name, master, b"s ap traffic", finished_hash)
        exporter = derive_secret(name, master, b"exp master", finished_hash)
        return Stage(TrafficKeys(client, *traffic_key(suite, client)),
                     TrafficKeys(server, *traffic_key(suite, server)), exporter)

    @staticmethod
    def traffic(suite: CipherSuite, secret: bytes) -> tuple[bytes, bytes, bytes]:
        """(key, IV, the next traffic secret) of a traffic secret (sections 7.2, 7.3)."""
        return (*traffic_key(suite, secret), next_traffic_secret(suite, secret))

    @staticmethod
    def finished(suite: CipherSuite, base_key: bytes, transcript_hash: bytes) -> bytes:
        return finished_verify_data(suite, base_key, transcript_hash)


class NativeKernels:
    """The stages in the extension (csrc/engine_key_schedule.c): one call each."""

    name = "native"

    def __init__(self):
        self._ffi, self._lib = _backend.native()
        self._hashes = {32: self._lib.ENGINE_KS_SHA256, 48: self._lib.ENGINE_KS_SHA384}

    def _hash(self, suite: CipherSuite) -> int:
        return self._hashes[suite.hash_len]

    def _stage(self, suite: CipherSuite, out, rc: int) -> Stage:
        if rc != 0:
            raise ValueError("the key schedule kernel failed (code %d)" % rc)
        n, k = suite.hash_len, suite.key_size
        data = self._ffi.buffer(out)[:]
        keys = 3 * n
        return Stage(TrafficKeys(data[:n], data[keys:keys + k], data[keys + k:keys + k + 12]),
                     TrafficKeys(data[n:2 * n], data[keys + k + 12:keys + 2 * k + 12],
                                 data[keys + 2 * k + 12:]),
                     data[2 * n:3 * n])

    def early(self, suite: CipherSuite, psk: bytes, external: bool,
              hello_hash: bytes | None) -> EarlyStage:
        n = suite.hash_len
        out = self._ffi.new("unsigned char[]", 4 * n)
        rc = self._lib.engine_ks_early(self._hash(suite), psk, len(psk), 1 if external else 0,
                                       hello_hash if hello_hash is not None else self._ffi.NULL,
                                       out, len(out))
        if rc != 0:
            raise ValueError("the key schedule kernel failed (code %d)" % rc)
        data = self._ffi.buffer(out)[:]
        if hello_hash is None:
            return EarlyStage(data[:n], data[n:2 * n], None, None)
        return EarlyStage(data[:n], data[n:2 * n], data[2 * n:3 * n], data[3 * n:])

    def expand_label(self, suite: CipherSuite, secret: bytes, label: bytes, context: bytes,
                     length: int) -> bytes:
        out = self._ffi.new("unsigned char[]", length)
        rc = self._lib.engine_ks_expand_label(self._hash(suite), secret, len(secret), label,
                                              len(label), context, len(context), out, length)
        if rc != 0:
            raise ValueError("the key schedule kernel failed (code %d)" % rc)
        return self._ffi.buffer(out)[:]

    def handshake(self, suite: CipherSuite, early_secret: bytes | None, shared: bytes,
                  hello_hash: bytes) -> Stage:
        ffi = self._ffi
        out = ffi.new("unsigned char[]", 3 * suite.hash_len + 2 * (suite.key_size + IV_LEN))
        rc = self._lib.engine_ks_handshake(
            self._hash(suite), suite.key_size, early_secret if early_secret is not None
            else ffi.NULL, shared, len(shared), hello_hash, out, len(out))
        return self._stage(suite, out, rc)

    def application(self, suite: CipherSuite, master: bytes, finished_hash: bytes) -> Stage:
        out = self._ffi.new("unsigned char[]", 3 * suite.hash_len + 2 * (suite.key_size + IV_LEN))
        rc = self._lib.engine_ks_application(self._hash(suite), suite.key_size, master,
                                             finished_hash, out, len(out))
        return self._stage(suite, out, rc)

    def traffic(self, suite: CipherSuite, secret: bytes) -> tuple[bytes, bytes, bytes]:
        k = suite.key_size
        out = self._ffi.new("unsigned char[]", k + IV_LEN + suite.hash_len)
        rc = self._lib.engine_ks_traffic(self._hash(suite), k, secret, out, len(out))
        if rc != 0:
            raise ValueError("the key schedule kernel failed (code %d)" % rc)
        data = self._ffi.buffer(out)[:]
        return data[:k], data[k:k + IV_LEN], data[k + IV_LEN:]

    def finished(self, suite: CipherSuite, base_key: bytes, transcript_hash: bytes) -> bytes:
        out = self._ffi.new("unsigned char[]", suite.hash_len)
        rc = self._lib.engine_ks_finished(self._hash(suite), base_key, transcript_hash, out,
                                          len(out))
        if rc != 0:
            raise ValueError("the key schedule kernel failed (code %d)" % rc)
        return self._ffi.buffer(out)[:]


class KeySchedule:
    """Secrets of one connection, with the running transcript hash.

    ``update(message)`` adds a handshake message to the transcript; :meth:`early` starts from a
    PSK (a resumed handshake, section 2.2), else the early secret is that of no PSK;
    :meth:`handshake_traffic` and :meth:`application_traffic` derive the secrets and keys of
    section 7.1 from the transcript as it stands.
    """

    __slots__ = ("suite", "hash_name", "_kernels", "_transcript", "_early_secret",
                 "master_secret", "exporter_secret", "server_finished_hash")

    def __init__(self, suite: CipherSuite, backend: str | None = None, transcript=None):
        self.suite = suite
        self.hash_name = suite.hash_name
        self._kernels = _backend.key_schedule_kernels(backend)
        self._transcript = transcript if transcript is not None else hashlib.new(suite.hash_name)
        self._early_secret: bytes | None = None  # None: no PSK
        self.master_secret: bytes | None = None
        self.exporter_secret: bytes | None = None
        self.server_finished_hash: bytes | None = None  # set by application_traffic()

    @property
    def early_secret(self) -> bytes:
        if self._early_secret is not None:
            return self._early_secret
        return _no_psk(self.hash_name, self.suite.hash_len)[0]

    def update(self, message: bytes) -> None:
        self._transcript.update(message)

    def transcript_hash(self) -> bytes:
        return self._transcript.copy().digest()

    def transcript_hash_with(self, data) -> bytes:
        """The transcript hash as if ``data`` came next (a truncated ClientHello, 4.2.11.2)."""
        transcript = self._transcript.copy()
        transcript.update(data)
        return transcript.digest()

    def replace_client_hello(self, client_hello: bytes) -> None:
        """After a HelloRetryRequest: start over from message_hash(ClientHello1) (4.4.1)."""
        digest = hashlib.new(self.hash_name, client_hello).digest()
        self._transcript = hashlib.new(self.hash_name)
        self._transcript.update(bytes((254, 0, 0, len(digest))) + digest)

    def early(self, psk: bytes, hello_hash: bytes | None = None,
              external: bool = False) -> EarlyStage:
        """The early stage of a resumption PSK (or an external one); the handshake stage goes
        on from its early secret."""
        stage = self._kernels.early(self.suite, psk, external, hello_hash)
        self._early_secret = stage.secret
        return stage

    def use_early_secret(self, early_secret: bytes) -> None:
        """Go on from the early secret of a PSK derived before the cipher suite was known."""
        self._early_secret = early_secret

    def binder(self, binder_key: bytes, truncated_hello_hash: bytes) -> bytes:
        """A PSK binder: Finished's HMAC under the binder key (section 4.2.11.2)."""
        return self._kernels.finished(self.suite, binder_key, truncated_hello_hash)

    def handshake_traffic(self, shared_secret: bytes | None) -> Stage:
        """The handshake traffic secrets and keys over ClientHello...ServerHello, from the
        (EC)DHE shared secret (None: psk_ke, no (EC)DHE); keeps the master secret."""
        if shared_secret is None:
            shared_secret = bytes(self.suite.hash_len)
        stage = self._kernels.handshake(self.suite, self._early_secret, shared_secret,
                                        self.transcript_hash())
        self.master_secret = stage.secret
        return stage

    def application_traffic(self) -> Stage:
        """The application traffic secrets 0 and keys over ClientHello...server Finished;
        keeps the exporter master secret."""
        digest = self.server_finished_hash = self.transcript_hash()
        stage = self._kernels.application(self.suite, self.master_secret, digest)
        self.exporter_secret = stage.secret
        return stage

    def resumption_master_secret(self) -> bytes:
        """Derive-Secret(master, "res master", ClientHello...client Finished) (section 7.1)."""
        n = self.suite.hash_len
        return self._kernels.expand_label(self.suite, self.master_secret, b"res master",
                                          self.transcript_hash(), n)

    def ticket_psk(self, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
        """The PSK of a ticket: HKDF-Expand-Label(res master, "resumption", ticket_nonce,
        Hash.length) (section 4.6.1)."""
        return self._kernels.expand_label(self.suite, resumption_master_secret, b"resumption",
                                          ticket_nonce, self.suite.hash_len)

    def finished(self, base_key: bytes) -> bytes:
        """verify_data for a Finished sent under ``base_key`` over the transcript so far."""
        return self._kernels.finished(self.suite, base_key, self.transcript_hash())

    def traffic(self, secret: bytes) -> tuple[bytes, bytes, bytes]:
        """(key, IV, next traffic secret) of a traffic secret (sections 7.2, 7.3)."""
        return self._kernels.traffic(self.suite, secret)
