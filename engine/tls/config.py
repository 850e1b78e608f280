"""Client and server configuration, checked once and prepared for many connections."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Sequence

from ..errors import LocalProtocolError
from .certificates import Credential
from .constants import (
    CIPHER_SUITES, GROUP_CODES, GROUPS, SIGNATURE_SCHEME_CODES, SIGNATURE_SCHEMES, SUITE_BY_NAME,
)

VERIFY_CLIENT = ("none", "request", "require")


def _check_names(kind: str, values, known) -> tuple:
    values = tuple(values)
    for value in values:
        if value not in known:
            raise LocalProtocolError("unknown %s %r (known: %s)" % (kind, value, ", ".join(known)))
    if not values:
        raise LocalProtocolError("at least one %s is needed" % kind)
    return values


def _check_alpn(protocols) -> tuple:
    out = []
    for protocol in protocols:
        raw = protocol.encode("ascii") if isinstance(protocol, str) else bytes(protocol)
        if not 1 <= len(raw) <= 255:
            raise LocalProtocolError("an ALPN protocol name must be 1 to 255 bytes")
        out.append(raw)
    return tuple(out)


class _Prepared:
    """Code points computed from a configuration's names (shared by both sides)."""

    def __init__(self, config):
        self.suites = tuple(SUITE_BY_NAME[name] for name in config.cipher_suites)
        self.suite_codes = tuple(suite.code for suite in self.suites)
        self.group_codes = tuple(GROUP_CODES[name] for name in config.groups)
        self.scheme_codes = tuple(SIGNATURE_SCHEME_CODES[name] for name in config.signature_schemes)
        self.alpn = _check_alpn(config.alpn_protocols)


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """What a client offers and how it checks the server (see API: engine.tls)."""

    trust: object = None
    server_name: str | None = None
    crls: Sequence = ()
    alpn_protocols: Sequence = ()
    cipher_suites: Sequence[str] = CIPHER_SUITES
    groups: Sequence[str] = ("x25519", "secp256r1", "secp384r1", "X25519MLKEM768")
    key_share_groups: Sequence[str] = ("x25519",)
    signature_schemes: Sequence[str] = SIGNATURE_SCHEMES
    certificate: object = None
    verify: bool = True
    middlebox_compat: bool = True
    keylog_file: str | None = None
    verify_time: datetime.datetime | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "cipher_suites", _check_names("cipher suite", self.cipher_suites, CIPHER_SUITES))
        set_(self, "groups", _check_names("group", self.groups, GROUPS))
        set_(self, "key_share_groups", tuple(self.key_share_groups))
        for group in self.key_share_groups:
            if group not in self.groups:
                raise LocalProtocolError("key share group %r is not among the groups" % group)
        set_(self, "signature_schemes",
             _check_names("signature scheme", self.signature_schemes, SIGNATURE_SCHEMES))
        set_(self, "crls", tuple(self.crls))
        set_(self, "alpn_protocols", tuple(self.alpn_protocols))
        set_(self, "_prepared", _Prepared(self))
        set_(self, "_credential", Credential(self.certificate) if self.certificate else None)


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """What a server offers: its certificates (picked by SNI and signature scheme), client auth."""

    certificates: Sequence = ()
    trust: object = None
    crls: Sequence = ()
    verify_client: str = "none"
    alpn_protocols: Sequence = ()
    cipher_suites: Sequence[str] = CIPHER_SUITES
    groups: Sequence[str] = ("x25519", "secp256r1", "secp384r1", "X25519MLKEM768")
    signature_schemes: Sequence[str] = SIGNATURE_SCHEMES
    keylog_file: str | None = None
    verify_time: datetime.datetime | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        if not self.certificates:
            raise LocalProtocolError("a server needs at least one certificate (KeyStore)")
        if self.verify_client not in VERIFY_CLIENT:
            raise LocalProtocolError(
                "verify_client must be one of %s, not %r"
                % (", ".join(VERIFY_CLIENT), self.verify_client)
            )
        if self.verify_client != "none" and self.trust is None:
            raise LocalProtocolError("verify_client=%r needs a trust store" % self.verify_client)
        set_(self, "certificates", tuple(self.certificates))
        set_(self, "cipher_suites", _check_names("cipher suite", self.cipher_suites, CIPHER_SUITES))
        set_(self, "groups", _check_names("group", self.groups, GROUPS))
        set_(self, "signature_schemes",
             _check_names("signature scheme", self.signature_schemes, SIGNATURE_SCHEMES))
        set_(self, "crls", tuple(self.crls))
        set_(self, "alpn_protocols", tuple(self.alpn_protocols))
        set_(self, "_prepared", _Prepared(self))
        set_(self, "_credentials", tuple(Credential(ks) for ks in self.certificates))
