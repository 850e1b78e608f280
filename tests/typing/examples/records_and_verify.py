"""Bulk record protection and batch certificate checks, on their own."""

from __future__ import annotations

import os

from cryptography import x509

import engine
from engine.pki import CertificateAuthority, TrustStore
from engine.records import Opener, Sealer
from engine.verify import iter_verify

key, iv = os.urandom(16), os.urandom(12)
sealer = Sealer("TLS_AES_128_GCM_SHA256", key, iv)
wire: bytes = sealer.seal(b"x" * 100_000)
more: bytes = sealer.seal_messages([b"one", b"two"])
segments, consumed = Opener("TLS_AES_128_GCM_SHA256", key, iv).open(wire)
first: tuple[int, bytes] = segments[0]
used: int = consumed
seq: int = sealer.seq

ca = CertificateAuthority.create_root("Example Root CA")
issued = ca.issue_server(["localhost"])
chains: list[list[x509.Certificate]] = [[issued.certificate]]
verdicts: list[engine.Verdict] = engine.verify_chains(
    chains, TrustStore([ca.certificate]), crls=[ca.crl()], names=["localhost"])
for verdict in verdicts:
    ok: bool = verdict.ok
    reason: str | None = verdict.reason
    detail: str = verdict.detail
    depth: int | None = verdict.depth
    path: tuple[x509.Certificate, ...] = verdict.chain
for streamed in iter_verify("chains.jsonl", "ca.pem"):
    if not streamed:
        print(streamed.reason, streamed.detail)
