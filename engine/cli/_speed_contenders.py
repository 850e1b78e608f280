"""What ``engine speed`` measures record protection against, each a callable doing one operation.

For one suite, direction (``seal`` or ``open``) and workload, :func:`contenders` returns the
native record layer (one thread and two; for messages also ``seal_messages_into`` with a buffer
kept from call to call, next to ``seal_messages``), the Python twin, Python's ``ssl`` (two
SSLObjects over MemoryBIOs writing and reading the same data; only for TLS_AES_256_GCM_SHA384, the suite they
negotiate), and two framing-free limits: one AEAD call over the whole buffer through the
libcrypto the extension links, and cryptography's one-shot ``encrypt_into``/``decrypt_into``.
Every contender writes into buffers it keeps, as a connection would, except ``seal_messages``,
which returns a new bytes object each time.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import ssl
import tempfile
from typing import Callable

from ..records import Opener, Sealer
from .._backend import record_key as make_key
from ..records._suites import suite_named
from ._speed_limit import limit

SSL_SUITE = "TLS_AES_256_GCM_SHA384"


@dataclasses.dataclass(frozen=True)
class Workload:
    """What one operation handles: ``total`` bytes as records of ``record_size`` bytes.

    ``messages`` means the data arrives as separate messages of ``record_size`` bytes, sealed
    with ``seal_messages`` (the RPC case) instead of one buffer cut into fragments.
    """

    label: str
    record_size: int
    total: int
    messages: bool = False
    large: bool = False


MiB = 2**20
WORKLOADS = (
    Workload("64 B messages, 1 MiB", 64, MiB, messages=True),
    Workload("1 KiB records, 1 MiB", 1024, MiB),
    Workload("16 KiB records, 1 MiB", 16384, MiB),
    Workload("16 KiB records, 64 MiB", 16384, 64 * MiB, large=True),
)


def _rewind(opener: Opener, key: bytes, iv: bytes) -> None:
    """Let an Opener read the same records again (for measuring only): a fresh key object,
    sequence numbers from zero."""
    opener._key = make_key(opener.backend, suite_named(opener.suite), key, iv, False)


def _keys(suite: str):
    return os.urandom(suite_named(suite).key_size), os.urandom(12)


def _records(suite, key, iv, data, workload):
    sealer = Sealer(suite, key, iv, backend="python")
    if workload.messages:
        step = workload.record_size
        return sealer.seal_messages([data[i : i + step] for i in range(0, len(data), step)])
    return sealer.seal(data, max_fragment=workload.record_size)


def _native_seal(suite, key, iv, data, workload, threads=1, into=False):
    sealer = Sealer(suite, key, iv, backend="native")
    if workload.messages:
        step = workload.record_size
        messages = [data[i : i + step] for i in range(0, len(data), step)]
        if into:
            out = bytearray(len(data) + len(messages) * 22)
            return lambda: sealer.seal_messages_into(out, messages, threads=threads)
        return lambda: sealer.seal_messages(messages, threads=threads)
    out = bytearray(len(data) + (len(data) // workload.record_size + 1) * 22)
    return lambda: sealer.seal_into(out, data, max_fragment=workload.record_size, threads=threads)


def _python_seal(suite, key, iv, data, workload):
    sealer = Sealer(suite, key, iv, backend="python")
    if workload.messages:
        step = workload.record_size
        messages = [data[i : i + step] for i in range(0, len(data), step)]
        return lambda: sealer.seal_messages(messages)
    out = bytearray(len(data) + (len(data) // workload.record_size + 1) * 22)
    return lambda: sealer.seal_into(out, data, max_fragment=workload.record_size)


def _opening(backend, suite, key, iv, wire, threads=1):
    opener = Opener(suite, key, iv, backend=backend)
    out = bytearray(len(wire))

    def run():
        _rewind(opener, key, iv)
        return opener.open_into(out, wire, threads=threads)

    return run


def _cryptography_oneshot(suite, key, iv, data, direction):
    aead = suite_named(suite).aead(key)
    sealed = bytearray(len(data) + 16)
    if hasattr(aead, "encrypt_into"):
        aead.encrypt_into(iv, data, None, sealed)
        if direction == "seal":
            return lambda: aead.encrypt_into(iv, data, None, sealed)
        out = bytearray(len(data))
        return lambda: aead.decrypt_into(iv, sealed, None, out)
    sealed = aead.encrypt(iv, data, None)
    if direction == "seal":
        return lambda: aead.encrypt(iv, data, None)
    return lambda: aead.decrypt(iv, sealed, None)


# --- Python's ssl ---------------------------------------------------------------------------


def _self_signed_files(directory: str) -> tuple[str, str]:
    """A throwaway self-signed P-256 certificate and key, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return cert_path, key_path


class SSLPair:
    """A TLS 1.3 client and server in memory (ssl.SSLObject over MemoryBIO), handshake done."""

    def __init__(self):
        with tempfile.TemporaryDirectory() as directory:
            cert_path, key_path = _self_signed_files(directory)
            server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_ctx.load_cert_chain(cert_path, key_path)
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.check_hostname = False
        client_ctx.verify_mode = ssl.CERT_NONE
        for ctx in (client_ctx, server_ctx):
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        self.client_in, self.client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.server_in, self.server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.client = client_ctx.wrap_bio(self.client_in, self.client_out,
                                          server_hostname="localhost")
        self.server = server_ctx.wrap_bio(self.server_in, self.server_out, server_side=True)
        done = [False, False]
        for _ in range(20):
            for i, side in enumerate((self.client, self.server)):
                if not done[i]:
                    try:
                        side.do_handshake()
                        done[i] = True
                    except ssl.SSLWantReadError:
                        pass
            self.server_in.write(self.client_out.read())
            self.client_in.write(self.server_out.read())
            if all(done):
                break
        if not all(done):
            raise RuntimeError("the in-memory TLS handshake did not finish")
        self.cipher = self.client.cipher()[0]

    def write_chunks(self, chunks) -> bytes:
        write = self.client.write
        for chunk in chunks:
            write(chunk)
        return self.client_out.read()

    def read_all(self, wire: bytes) -> int:
        self.server_in.write(wire)
        read = self.server.read
        total = 0
        try:
            while True:
                total += len(read(65536))
        except ssl.SSLWantReadError:
            return total


def _ssl_contender(data, workload, direction):
    try:
        pair = SSLPair()
    except (ssl.SSLError, OSError, RuntimeError, ValueError):  # no TLS 1.3 in this ssl
        return None
    if pair.cipher != SSL_SUITE:
        return None
    view = memoryview(data)
    chunks = [view[i : i + workload.record_size] for i in range(0, len(data), workload.record_size)]
    if direction == "seal":
        return lambda: pair.write_chunks(chunks)

    fresh = []

    def prepare():
        fresh.append(pair.write_chunks(chunks))

    def run():
        if not fresh:  # records can be read once only: make more (inside the timing, if so)
            prepare()
        return pair.read_all(fresh.pop(0))

    run.prepare = prepare  # a fresh wire for each sample, made outside the timing
    return run


# --- all of them ----------------------------------------------------------------------------


def contenders(suite: str, direction: str, workload: Workload, native: bool = True
               ) -> dict[str, Callable[[], object]]:
    """Name -> one-operation callable, for everything that applies to this case.

    A callable may carry a ``prepare`` attribute: run before each timed sample, untimed.
    """
    key, iv = _keys(suite)
    data = os.urandom(workload.total)
    result: dict[str, Callable[[], object]] = {}
    wire = _records(suite, key, iv, data, workload) if direction == "open" else None
    if native:
        if direction == "seal":
            result["native"] = _native_seal(suite, key, iv, data, workload)
            result["native x2"] = _native_seal(suite, key, iv, data, workload, threads=2)
            if workload.messages:
                result["native into"] = _native_seal(suite, key, iv, data, workload, into=True)
        else:
            result["native"] = _opening("native", suite, key, iv, wire)
            result["native x2"] = _opening("native", suite, key, iv, wire, threads=2)
    if direction == "seal":
        result["python"] = _python_seal(suite, key, iv, data, workload)
    else:
        result["python"] = _opening("python", suite, key, iv, wire)
    if suite == SSL_SUITE:
        ssl_run = _ssl_contender(data, workload, direction)
        if ssl_run is not None:
            result["ssl"] = ssl_run
    if native:
        result["limit"] = limit(suite, key, iv, data, direction)
    result["cryptography"] = _cryptography_oneshot(suite, key, iv, data, direction)
    return result

