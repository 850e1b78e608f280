"""Client and server configuration, checked once and prepared for many connections."""

from __future__ import annotations

import dataclasses
import datetime
import os
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
        if isinstance(protocol, str):
            try:
                raw = protocol.encode("ascii")
            except UnicodeEncodeError:
                raise LocalProtocolError("an ALPN protocol name given as str must be ASCII") \
                    from None
        elif isinstance(protocol, (bytes, bytearray, memoryview)):
            raw = bytes(protocol)
        else:
            raise LocalProtocolError("an ALPN protocol name is bytes or str, not %s"
                                     % type(protocol).__name__)
        if not 1 <= len(raw) <= 255:
            raise LocalProtocolError("an ALPN protocol name must be 1 to 255 bytes")
        out.append(raw)
    return tuple(out)


def check_server_name(name) -> str | None:
    """None or a host name that fits server_name (RFC 6066 section 3: ASCII, no more than a
    DNS name's 253 characters); whether a certificate matches it is the verifier's question."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise LocalProtocolError("server_name is a str, not %s" % type(name).__name__)
    if not name or len(name) > 253 or not name.isascii():
        raise LocalProtocolError("server_name %r is not a host name (1 to 253 ASCII characters; "
                                 "an internationalized name goes in its A-label form)"
                                 % name[:80])
    return name


def _check_common(config) -> None:
    """The fields both sides share, checked now rather than in the middle of a handshake."""
    set_ = object.__setattr__
    if isinstance(config.alpn_protocols, (str, bytes)):
        raise LocalProtocolError("alpn_protocols is a list of protocol names, not one %s"
                                 % type(config.alpn_protocols).__name__)
    if config.keylog_file is not None:
        try:
            set_(config, "keylog_file", os.fspath(config.keylog_file))
        except TypeError:
            raise LocalProtocolError("keylog_file is a path, not %s"
                                     % type(config.keylog_file).__name__) from None
    if config.verify_time is not None and not isinstance(config.verify_time, datetime.datetime):
        raise LocalProtocolError("verify_time is a datetime, not %s"
                                 % type(config.verify_time).__name__)
    from ..verify import inputs

    if config.trust is not None:
        inputs.trust_ders(config.trust)  # TrustStoreError now for anchors that cannot be read
    if config.crls:
        # CRLError now for a CRL that cannot be read, or whose issuer name cannot be read or
        # encoded (every handshake would otherwise end in internal_error)
        inputs.crl_ders(config.crls)


def _credential(keystore) -> Credential:
    if not all(hasattr(keystore, a) for a in ("private_key", "certificate", "chain")):
        raise LocalProtocolError("a certificate is given as a KeyStore, not %s"
                                 % type(keystore).__name__)
    return Credential(keystore)


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
        check_server_name(self.server_name)
        _check_common(self)
        set_(self, "alpn_protocols", tuple(self.alpn_protocols))
        set_(self, "_prepared", _Prepared(self))
        set_(self, "_credential", _credential(self.certificate) if self.certificate else None)


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
        if isinstance(self.certificates, (str, bytes)):
            raise LocalProtocolError("certificates is a list of KeyStores, not one %s"
                                     % type(self.certificates).__name__)
        set_(self, "certificates", tuple(self.certificates))
        set_(self, "cipher_suites", _check_names("cipher suite", self.cipher_suites, CIPHER_SUITES))
        set_(self, "groups", _check_names("group", self.groups, GROUPS))
        set_(self, "signature_schemes",
             _check_names("signature scheme", self.signature_schemes, SIGNATURE_SCHEMES))
        set_(self, "crls", tuple(self.crls))
        _check_common(self)
        set_(self, "alpn_protocols", tuple(self.alpn_protocols))
        set_(self, "_prepared", _Prepared(self))
        set_(self, "_credentials", tuple(_credential(ks) for ks in self.certificates))
