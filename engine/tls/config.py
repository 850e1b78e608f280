"""Client and server configuration, checked once and prepared for many connections."""

from __future__ import annotations

import dataclasses
import datetime
import os
import sys
from typing import TYPE_CHECKING, Iterable, Literal, Sequence, Tuple, Union

from ..errors import LocalProtocolError
from .certificates import Credential
from .constants import (
    CIPHER_SUITES, GROUP_CODES, GROUPS, MAX_TICKET_LIFETIME, PSK_MODES, SIGNATURE_SCHEME_CODES,
    SIGNATURE_SCHEMES, SUITE_BY_NAME, PskKeyExchangeMode,
)

if TYPE_CHECKING:
    from cryptography import x509

    from ..pki.crl import RevocationList
    from ..pki.keystore import KeyStore
    from ..pki.truststore import TrustStore
    from .replay import AntiReplay
    from .session import SessionCache
    from .tickets import PeerChains, TicketKeys

#: A path as the configs take one: str or os.PathLike.
StrPath = Union[str, "os.PathLike[str]"]
#: Trust anchors: a TrustStore, the path of a PEM bundle or of a directory of CA files, or
#: certificates.
TrustSource = Union["TrustStore", StrPath, "Iterable[x509.Certificate]"]
#: A CRL: a RevocationList, an x509 CRL, its PEM or DER, or the path of a CRL file.
CRLSource = Union["RevocationList", "x509.CertificateRevocationList", bytes, StrPath]
#: A certificate with its key: a KeyStore, one PEM file holding chain and unencrypted key, or
#: a pair of paths (chain, key).
CertificateSource = Union["KeyStore", StrPath, Tuple[StrPath, StrPath]]

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
    set_(config, "keylog_file", keylog_path(config.keylog_file))
    if config.verify_time is not None and not isinstance(config.verify_time, datetime.datetime):
        raise LocalProtocolError("verify_time is a datetime, not %s"
                                 % type(config.verify_time).__name__)
    from ..pki.truststore import TrustStore, is_path
    from ..verify import inputs

    if is_path(config.trust):  # a PEM bundle, a DER certificate or a directory of them
        set_(config, "trust", TrustStore(config.trust))
    if config.trust is not None:
        inputs.trust_ders(config.trust)  # TrustStoreError now for anchors that cannot be read
    if config.crls:
        # CRLError now for a CRL that cannot be read, or whose issuer name cannot be read or
        # encoded (every handshake would otherwise end in internal_error)
        inputs.crl_ders(config.crls)


def keylog_path(value: object) -> str | Literal[False] | None:
    """Where the key log goes: ``None`` (the default) takes SSLKEYLOGFILE from the environment,
    as ``ssl.create_default_context`` does (not under ``python -E``); ``False`` writes none
    whatever the environment says; a path (str or os.PathLike) is that file."""
    if value is None:
        if sys.flags.ignore_environment:
            return None
        return os.environ.get("SSLKEYLOGFILE") or None
    if value is False:
        return False
    if value is True or not isinstance(value, (str, os.PathLike)):
        raise LocalProtocolError("keylog_file is a path, or False for none, not %r"
                                 % (value if value is True else type(value).__name__))
    return os.fspath(value)


def crl_list(crls) -> tuple:
    """``crls`` as a tuple: one CRL or a list of them, each a RevocationList, an x509 CRL, PEM
    or DER data, or the path of a CRL file (str or os.PathLike), read now."""
    from ..pki.crl import RevocationList
    from ..pki.truststore import is_path

    if crls is None:
        return ()
    if isinstance(crls, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(crls, "crl"):
        crls = (crls,)
    return tuple(RevocationList.load(item) if is_path(item) else item for item in crls)


def _check_resumption(config) -> None:
    """ServerConfig's ticket and 0-RTT fields, with their defaults made."""
    from .replay import AntiReplay
    from .tickets import PeerChains, TicketKeys

    set_ = object.__setattr__
    _check_count("ticket_count", config.ticket_count, 0, 16)
    _check_count("ticket_lifetime", config.ticket_lifetime, 1, MAX_TICKET_LIFETIME)
    _check_count("max_early_data", config.max_early_data, 0, 0xFFFFFFFF)
    set_(config, "psk_key_exchange_modes", _check_psk_modes(config.psk_key_exchange_modes))
    set_(config, "_peer_chains", PeerChains())
    if config.ticket_keys is None:
        set_(config, "ticket_keys", TicketKeys())
    elif not isinstance(config.ticket_keys, TicketKeys):
        raise LocalProtocolError("ticket_keys is a TicketKeys, not %s"
                                 % type(config.ticket_keys).__name__)
    if config.anti_replay is None and config.max_early_data:
        set_(config, "anti_replay", AntiReplay())
    elif config.anti_replay is True:
        set_(config, "anti_replay", AntiReplay())
    elif config.anti_replay not in (None, False) and not hasattr(config.anti_replay, "accept"):
        raise LocalProtocolError("anti_replay is an AntiReplay or False, not %s"
                                 % type(config.anti_replay).__name__)


def keystore_of(value):
    """A KeyStore as given, or read from PEM as ``ssl.SSLContext.load_cert_chain`` takes its
    files: one path (the certificate chain and its unencrypted key in one file) or a pair of
    paths (certificate chain, key); an encrypted key needs KeyStore.from_pem and its password."""
    from ..pki.keystore import KeyStore
    from ..pki.truststore import is_path

    if is_path(value):
        return KeyStore.from_pem(value)
    if (isinstance(value, tuple) and len(value) == 2 and is_path(value[0])
            and is_path(value[1])):
        return KeyStore.from_pem(*value)
    return value


def _credential(keystore) -> Credential:
    if not all(hasattr(keystore, a) for a in ("private_key", "certificate", "chain")):
        raise LocalProtocolError("a certificate is given as a KeyStore, not %s"
                                 % type(keystore).__name__)
    return Credential(keystore)


def _check_psk_modes(modes) -> tuple:
    """psk_key_exchange_modes by name (RFC 8446 4.2.9); empty turns resumption off."""
    if isinstance(modes, str):
        raise LocalProtocolError("psk_key_exchange_modes is a list of mode names, not one str")
    modes = tuple(modes)
    for mode in modes:
        if mode not in PSK_MODES:
            raise LocalProtocolError("unknown PSK key exchange mode %r (known: %s)"
                                     % (mode, ", ".join(PSK_MODES)))
    return modes


def _check_count(name: str, value, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise LocalProtocolError("%s must be an int from %d to %d, not %r"
                                 % (name, low, high, value))


class _Prepared:
    """Code points computed from a configuration's names (shared by both sides)."""

    def __init__(self, config):
        self.psk_modes = bytes(PskKeyExchangeMode[m] for m in config.psk_key_exchange_modes)
        self.suites = tuple(SUITE_BY_NAME[name] for name in config.cipher_suites)
        self.hash_names = frozenset(suite.hash_name for suite in self.suites)
        self.suite_codes = tuple(suite.code for suite in self.suites)
        self.group_codes = tuple(GROUP_CODES[name] for name in config.groups)
        self.scheme_codes = tuple(SIGNATURE_SCHEME_CODES[name] for name in config.signature_schemes)
        self.alpn = _check_alpn(config.alpn_protocols)


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """What a client offers and how it checks the server (see API: engine.tls).

    ``trust`` is a :class:`~engine.pki.TrustStore`, the path of a PEM bundle or of a
    directory of CA files, or certificates; with none given the client trusts the operating
    system's CAs (:meth:`TrustStore.system <engine.pki.TrustStore.system>`), as
    ``ssl.create_default_context()`` does, unless ``verify=False``. ``crls`` are
    RevocationLists, CRL data or paths of CRL files. ``certificate`` is the client's
    :class:`~engine.pki.KeyStore` (``KeyStore.from_pem("client.crt", "client.key")``), or
    where its key is not encrypted, the path of one PEM file holding both or a pair of paths
    (certificate chain, key), as ``load_cert_chain`` takes them.
    ``keylog_file``: by default the file named by SSLKEYLOGFILE, as
    ``ssl.create_default_context()`` honours it; False for none; or a path.

    Resumption (RFC 8446 2.2): the tickets the server sends go into ``session_cache`` (a
    :class:`~engine.tls.session.SessionCache` of ``session_cache_size`` server names; 0 turns
    it off), and a connection made without a session takes one from it.
    ``psk_key_exchange_modes`` are the modes offered with a ticket: ``psk_dhe_ke`` (a fresh
    (EC)DHE exchange too, forward secret) by default; add ``psk_ke`` to let the server skip
    it; empty to ask for no tickets at all.
    """

    trust: TrustSource | None = None
    server_name: str | None = None
    crls: Sequence[CRLSource] = ()
    alpn_protocols: Sequence[str] = ()
    cipher_suites: Sequence[str] = CIPHER_SUITES
    groups: Sequence[str] = ("x25519", "secp256r1", "secp384r1", "X25519MLKEM768")
    key_share_groups: Sequence[str] = ("x25519",)
    signature_schemes: Sequence[str] = SIGNATURE_SCHEMES
    certificate: CertificateSource | None = None
    verify: bool = True
    middlebox_compat: bool = True
    keylog_file: StrPath | Literal[False] | None = None
    verify_time: datetime.datetime | None = None
    session_cache_size: int = 256
    psk_key_exchange_modes: Sequence[str] = ("psk_dhe_ke",)
    # made by __post_init__: declared for the type checker only (as fields they would go into
    # fields() and asdict())
    if TYPE_CHECKING:
        session_cache: SessionCache = dataclasses.field(init=False, repr=False, compare=False)
        _prepared: _Prepared = dataclasses.field(init=False, repr=False, compare=False)
        _credential: Credential | None = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        from .session import SessionCache

        set_ = object.__setattr__
        set_(self, "cipher_suites", _check_names("cipher suite", self.cipher_suites, CIPHER_SUITES))
        set_(self, "groups", _check_names("group", self.groups, GROUPS))
        _check_count("session_cache_size", self.session_cache_size, 0, 1 << 20)
        set_(self, "psk_key_exchange_modes", _check_psk_modes(self.psk_key_exchange_modes))
        set_(self, "session_cache", SessionCache(self.session_cache_size))
        set_(self, "key_share_groups", tuple(self.key_share_groups))
        for group in self.key_share_groups:
            if group not in self.groups:
                raise LocalProtocolError("key share group %r is not among the groups" % group)
        set_(self, "signature_schemes",
             _check_names("signature scheme", self.signature_schemes, SIGNATURE_SCHEMES))
        set_(self, "crls", crl_list(self.crls))
        check_server_name(self.server_name)
        if self.trust is None and self.verify:
            from ..pki.truststore import TrustStore

            set_(self, "trust", TrustStore.system())  # as ssl.create_default_context()
        _check_common(self)
        set_(self, "alpn_protocols", tuple(self.alpn_protocols))
        set_(self, "_prepared", _Prepared(self))
        if self.certificate:
            set_(self, "certificate", keystore_of(self.certificate))
        set_(self, "_credential", _credential(self.certificate) if self.certificate else None)


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """What a server offers: its certificates (picked by SNI and signature scheme), client auth.

    ``certificates`` are KeyStores (``KeyStore.load("server.p12", password)`` or
    ``KeyStore.from_pem("server.crt", "server.key")``), or for keys that are not encrypted a
    path of one PEM file holding chain and key, or a pair (chain, key) of paths: ``[("server.crt",
    "server.key")]``. ``trust`` (for client certificates)
    and ``crls`` take paths as ClientConfig's do; ``keylog_file`` too.

    ``groups`` is in the server's order of preference: the first one the client sent a key
    share for is used, else a HelloRetryRequest asks for the first one the client supports.
    By default the hybrid X25519MLKEM768 comes first (when a client sends its share, as
    Chromium does), then x25519.

    Resumption (RFC 8446 2.2, 4.6.1): after each handshake the server sends ``ticket_count``
    NewSessionTickets (2, as OpenSSL; 0 for none) valid ``ticket_lifetime`` seconds (at most 7
    days), sealed with ``ticket_keys`` (a :class:`~engine.tls.tickets.TicketKeys`; by default
    random keys of this config, rotated hourly). ``psk_key_exchange_modes``, in the server's
    order of preference, are the modes it resumes with: ``psk_dhe_ke`` only by default; empty
    turns resumption off. 0-RTT (2.3, 4.2.10) is off unless ``max_early_data`` (bytes a client
    may send before the handshake ends) is set; ``anti_replay`` is then an
    :class:`~engine.tls.replay.AntiReplay` by default, or False to accept replays.
    """

    certificates: Sequence[CertificateSource] = ()
    trust: TrustSource | None = None
    crls: Sequence[CRLSource] = ()
    verify_client: str = "none"
    alpn_protocols: Sequence[str] = ()
    cipher_suites: Sequence[str] = CIPHER_SUITES
    groups: Sequence[str] = ("X25519MLKEM768", "x25519", "secp256r1", "secp384r1")
    signature_schemes: Sequence[str] = SIGNATURE_SCHEMES
    keylog_file: StrPath | Literal[False] | None = None
    verify_time: datetime.datetime | None = None
    ticket_count: int = 2
    ticket_lifetime: int = 7200
    ticket_keys: TicketKeys | None = None
    psk_key_exchange_modes: Sequence[str] = ("psk_dhe_ke",)
    max_early_data: int = 0
    anti_replay: AntiReplay | bool | None = None
    # made by __post_init__ (see ClientConfig)
    if TYPE_CHECKING:
        _prepared: _Prepared = dataclasses.field(init=False, repr=False, compare=False)
        _credentials: tuple[Credential, ...] = dataclasses.field(init=False, repr=False,
                                                                 compare=False)
        _peer_chains: PeerChains = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        set_ = object.__setattr__
        _check_resumption(self)
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
        set_(self, "certificates", tuple(keystore_of(item) for item in self.certificates))
        set_(self, "cipher_suites", _check_names("cipher suite", self.cipher_suites, CIPHER_SUITES))
        set_(self, "groups", _check_names("group", self.groups, GROUPS))
        set_(self, "signature_schemes",
             _check_names("signature scheme", self.signature_schemes, SIGNATURE_SCHEMES))
        set_(self, "crls", crl_list(self.crls))
        _check_common(self)
        set_(self, "alpn_protocols", tuple(self.alpn_protocols))
        set_(self, "_prepared", _Prepared(self))
        set_(self, "_credentials", tuple(_credential(ks) for ks in self.certificates))
