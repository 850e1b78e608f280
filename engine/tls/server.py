"""The TLS 1.3 server (RFC 8446 section 2, appendix A.2), one handler per accepted message."""

from __future__ import annotations

import hmac
import os
from typing import TYPE_CHECKING

from .. import errors
from ..errors import (
    CertificateRequiredError, DecodeError, HandshakeFailureError, IllegalParameterError,
    LocalProtocolError, MissingExtensionError, NoApplicationProtocolError, ProtocolVersionError,
)
from . import codec, signatures
from .certificates import peer_certificate, select_credential
from .config import ServerConfig
from .connection import Connection
from .constants import (
    CERTIFICATE_SIGNATURE_CODES, GROUP_CODES, GROUP_NAMES, HELLO_RETRY_REQUEST_RANDOM,
    LEGACY_VERSION, SIGNATURE_SCHEME_CODES, SIGNATURE_SCHEME_NAMES, TLS13, ContentType,
)
from .constants import ExtensionType as ET
from .constants import HandshakeType as HT
from .extensions import PADDING
from .events import HandshakeComplete
from .key_exchange import server_exchange
from .key_schedule import KeySchedule
from .keylog import write_keylog
from .resumption import (
    PSK_DHE_KE, accept_early_data, accept_psk, client_wants_tickets, new_session_tickets,
    psk_mode,
)
from .states import ServerState, transition

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

    from .key_schedule import TrafficKeys
    from .tickets import TicketState

EARLY_DATA_SKIP = 1 << 18  # bytes of rejected 0-RTT records skipped at most
# Extensions a ClientHello may change after a HelloRetryRequest (RFC 8446 section 4.1.2).
_RETRY_MAY_CHANGE = frozenset((ET.key_share, ET.early_data, ET.cookie, ET.pre_shared_key,
                               PADDING))


def _parting(first: list, second: list) -> str:
    """Where two different lists of extensions, (type, body) pairs, part ways, in words."""
    def name(pairs, index):
        return "extension %d" % pairs[index][0] if index < len(pairs) else "no extension"

    index = next((i for i, (a, b) in enumerate(zip(first, second)) if a != b),
                 min(len(first), len(second)))
    return "%s where the first had %s" % (name(second, index), name(first, index))


class ServerConnection(Connection):
    """A TLS 1.3 server: it waits for a ClientHello."""

    _config: ServerConfig
    _connected_state = ServerState.CONNECTED
    _closed_state = ServerState.CLOSED

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(config)
        self._state = ServerState.WAIT_CH
        # the first ClientHello, after a HelloRetryRequest
        self._first_hello: codec.ClientHello | None = None
        self._cookie: bytes | None = None
        self._ccs_sent = False
        self._server_name: str | None = None
        self._alpn: bytes | None = None
        self._group: str | None = None
        self._scheme: str | None = None
        self._peer_chain: tuple[x509.Certificate, ...] = ()
        self._peer_key: CertificatePublicKeyTypes | None = None
        self._request_schemes: list[int] | None = None
        self._resumed: TicketState | None = None  # the TicketState of a resumed session
        self._wants_tickets = False
        self._early_data_accepted: bool | None = None  # None: no 0-RTT offered
        self._client_hs_keys: TrafficKeys | None = None  # while 0-RTT data is read
        # the client's handshake traffic secret, until its Finished
        self._client_hs: bytes | None = None
        # the client's application keys, from its Finished on
        self._client_ap_keys: TrafficKeys | None = None

    # --- ClientHello (4.1.2) ----------------------------------------------------------------

    def _on_client_hello(self, message: bytes, events: list) -> None:
        hello = codec.parse_client_hello(message[4:])
        self._ccs_allowed = True
        # Skip the 0-RTT records of a client whose early data we do not accept (RFC 8446 4.2.10).
        self._early_data_budget = EARLY_DATA_SKIP if hello.early_data else 0
        if hello.legacy_version < LEGACY_VERSION:  # older than TLS 1.2 (4.1.2, appendix D.5)
            raise ProtocolVersionError("ClientHello.legacy_version is 0x%04x, below TLS 1.2's"
                                       % hello.legacy_version)
        if hello.supported_versions is None or TLS13 not in hello.supported_versions:
            raise ProtocolVersionError("the client does not offer TLS 1.3")
        if hello.legacy_compression_methods != b"\x00":
            raise IllegalParameterError("legacy_compression_methods is not the single null method")
        config = self._config
        prepared = config._prepared
        first = self._first_hello
        if first is not None:
            self._check_second_hello(first, hello)
        suite = next((s for s in prepared.suites if s.code in hello.cipher_suites), None)
        if suite is None:
            raise HandshakeFailureError("no cipher suite in common")
        if hello.supported_groups is None:
            raise MissingExtensionError("ClientHello without supported_groups")
        if hello.key_share is None:
            raise MissingExtensionError("ClientHello without key_share")
        if hello.signature_algorithms is None:
            raise MissingExtensionError("ClientHello without signature_algorithms")
        # sets, not lists, for every membership test: a hello may hold thousands of values
        shares = dict(hello.key_share)
        supported_groups = set(hello.supported_groups)
        if not supported_groups.issuperset(shares):
            raise IllegalParameterError("key share for a group not in supported_groups")
        group = next(
            (GROUP_NAMES[c] for c in prepared.group_codes if c in shares), None
        )
        self._alpn = self._choose_alpn(hello, prepared.alpn)
        self._server_name = hello.server_name
        resumption = None
        if hello.pre_shared_key is not None and prepared.psk_modes:
            mode = psk_mode(config, hello, dhe_possible=group is not None)
            if mode is not None:
                if self._schedule is None:
                    self._schedule = KeySchedule(suite, self._backend)
                resumption = accept_psk(config, hello, message, suite, self._schedule, mode)
        if group is None and resumption is None:
            group = next(
                (GROUP_NAMES[c] for c in prepared.group_codes if c in supported_groups), None
            )
            if group is None:
                raise HandshakeFailureError("no group in common")
            self._send_hello_retry_request(hello, suite, group, message)
            return
        self.client_random = hello.random
        self._wants_tickets = client_wants_tickets(config, hello)
        credential = None
        if resumption is None:
            offered_schemes = set(hello.signature_algorithms)
            credential, self._scheme = select_credential(
                config._credentials, hello.server_name,
                [c for c in prepared.scheme_codes if c in offered_schemes],
            )
        else:
            self._resumed = resumption.state
            self._peer_chain = resumption.peer_chain
        shared_secret: bytes | None
        key_share: tuple[int, bytes] | None
        if resumption is None or resumption.mode == PSK_DHE_KE:
            assert group is not None  # without one: psk_ke (see psk_mode) or a HelloRetryRequest
            server_share, shared_secret = server_exchange(group, shares[GROUP_CODES[group]])
            key_share = (GROUP_CODES[group], server_share)
        else:
            group = shared_secret = key_share = None  # psk_ke: no (EC)DHE (4.2.9)
        self._group = group
        self.suite = suite
        if self._schedule is None:
            self._schedule = KeySchedule(suite, self._backend)
        schedule = self._schedule
        schedule.update(message)
        server_hello = codec.build_server_hello(codec.ServerHello(
            random=os.urandom(32), legacy_session_id_echo=hello.legacy_session_id,
            cipher_suite=suite.code, supported_version=TLS13, key_share=key_share,
            pre_shared_key=resumption.index if resumption is not None else None,
        ))
        schedule.update(server_hello)
        stage = schedule.handshake_traffic(shared_secret)
        client_hs, server_hs = stage.client.secret, stage.server.secret
        self._client_hs = client_hs
        write_keylog(config.keylog_file, self.client_random, (
            ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", client_hs),
            ("SERVER_HANDSHAKE_TRAFFIC_SECRET", server_hs),
        ))
        self._write_plaintext(ContentType.handshake, server_hello)
        if hello.legacy_session_id and not self._ccs_sent:
            self._send_change_cipher_spec()
            self._ccs_sent = True
        self._set_write_secret(*stage.server)
        early_data = resumption is not None and accept_early_data(
            config, hello, resumption, suite, self._alpn, first is not None)
        self._early_data_accepted = early_data if hello.early_data else None
        self._send_flight(credential, server_hs, early_data)
        if early_data:
            self._accept_early_data(resumption, stage.client)
        else:
            self._set_read_secret(*stage.client)

    def _accept_early_data(self, resumption, client_handshake_keys) -> None:
        """Read the client's 0-RTT records under its early traffic key until EndOfEarlyData
        (RFC 8446 4.2.10, 4.5)."""
        secret = resumption.early.client_early_traffic
        write_keylog(self._config.keylog_file, self.client_random, (
            ("CLIENT_EARLY_TRAFFIC_SECRET", secret),))
        self._early_data_budget = 0
        self._early_data_left = min(self._config.max_early_data, resumption.state.max_early_data)
        self._client_hs_keys = client_handshake_keys
        self._set_read_secret(secret)
        self._state = ServerState.WAIT_EOED

    def _check_second_hello(self, first, hello) -> None:
        """The ClientHello after a HelloRetryRequest is the first one, changed only where
        section 4.1.2 allows: the one key share asked for, the cookie echoed, early_data
        removed, pre_shared_key updated, padding changed. Anything else is illegal_parameter,
        extensions moved to another place included."""
        for field in ("legacy_version", "random", "legacy_session_id", "cipher_suites",
                      "legacy_compression_methods"):
            if getattr(hello, field) != getattr(first, field):
                raise IllegalParameterError("second ClientHello changes %s" % field)
        kept_first = [e for e in first.received_extensions if e[0] not in _RETRY_MAY_CHANGE]
        kept = [e for e in hello.received_extensions if e[0] not in _RETRY_MAY_CHANGE]
        if kept != kept_first:
            raise IllegalParameterError("second ClientHello changes its extensions: %s"
                                        % _parting(kept_first, kept))
        sent = {ext_type for ext_type, _ in hello.received_extensions}
        if ET.early_data in sent:
            raise IllegalParameterError("early_data in the ClientHello after a HelloRetryRequest")
        if ET.pre_shared_key in sent and all(t != ET.pre_shared_key
                                             for t, _ in first.received_extensions):
            raise IllegalParameterError("second ClientHello adds pre_shared_key")
        assert self._group is not None  # the one the HelloRetryRequest asked for
        if hello.key_share is None or [g for g, _ in hello.key_share] != [GROUP_CODES[self._group]]:
            raise IllegalParameterError("second ClientHello lacks the one key share asked for")
        if hello.cookie != self._cookie:
            raise IllegalParameterError("second ClientHello does not echo the cookie")

    def _send_hello_retry_request(self, hello, suite, group: str, message: bytes) -> None:
        if self._first_hello is not None:
            raise IllegalParameterError("second ClientHello still has no usable key share")
        self._first_hello = hello
        self._group = group
        self.suite = suite
        self._cookie = os.urandom(16)
        schedule = self._schedule = KeySchedule(suite, self._backend)
        schedule.replace_client_hello(message)
        retry = codec.build_server_hello(codec.ServerHello(
            random=HELLO_RETRY_REQUEST_RANDOM, legacy_session_id_echo=hello.legacy_session_id,
            cipher_suite=suite.code, supported_version=TLS13,
            selected_group=GROUP_CODES[group], cookie=self._cookie,
        ))
        schedule.update(retry)
        self._write_plaintext(ContentType.handshake, retry)
        if hello.legacy_session_id:
            self._send_change_cipher_spec()
            self._ccs_sent = True

    @staticmethod
    def _choose_alpn(hello, ours) -> bytes | None:
        """Our first protocol that the client offers (RFC 7301 section 3.2)."""
        if not ours or hello.alpn_protocols is None:
            return None
        for protocol in ours:
            if protocol in hello.alpn_protocols:
                return protocol
        raise NoApplicationProtocolError("no ALPN protocol in common")

    def _send_flight(self, credential, server_hs: bytes, early_data: bool) -> None:
        """EncryptedExtensions, CertificateRequest?, Certificate, CertificateVerify, Finished;
        resuming (``credential`` None), EncryptedExtensions and Finished only (section 2.2)."""
        schedule = self._schedule
        assert schedule is not None  # set with the ServerHello
        config = self._config
        name = self._server_name
        if credential is not None:
            # the name picked the certificate: say so with an empty server_name (RFC 6066 3)
            acknowledged = bool(name and credential.serves(name))
        else:
            acknowledged = bool(name and any(c.serves(name) for c in config._credentials))
        extensions = codec.build_encrypted_extensions(codec.EncryptedExtensions(
            alpn_protocol=self._alpn, server_name_acknowledged=acknowledged,
            early_data=early_data,
        ))
        schedule.update(extensions)
        flight = [extensions]
        if credential is not None:
            if config.verify_client != "none":
                self._request_schemes = list(config._prepared.scheme_codes)
                request = codec.build_certificate_request(codec.CertificateRequest(
                    b"", self._request_schemes, list(CERTIFICATE_SIGNATURE_CODES),
                ))
                schedule.update(request)
                flight.append(request)
            assert self._scheme is not None  # chosen with the credential
            certificate = credential.certificate_message
            schedule.update(certificate)
            content = signatures.signed_content(signatures.SERVER_CONTEXT,
                                                schedule.transcript_hash())
            verify = codec.build_certificate_verify(codec.CertificateVerify(
                SIGNATURE_SCHEME_CODES[self._scheme],
                signatures.sign(credential.private_key, self._scheme, content),
            ))
            schedule.update(verify)
            flight += (certificate, verify)
        finished = codec.build_finished(codec.Finished(schedule.finished(server_hs)))
        schedule.update(finished)
        flight.append(finished)
        self._send_handshake(b"".join(flight))
        stage = schedule.application_traffic()
        client_ap, server_ap = stage.client.secret, stage.server.secret
        self._read_secret, self._write_secret = client_ap, server_ap
        self._client_ap_keys = stage.client  # read from the client's Finished on
        self._set_write_secret(*stage.server)
        write_keylog(config.keylog_file, self.client_random, (
            ("CLIENT_TRAFFIC_SECRET_0", client_ap), ("SERVER_TRAFFIC_SECRET_0", server_ap),
        ))
        self._state = ServerState.WAIT_CERT if self._request_schemes else ServerState.WAIT_FINISHED

    def _on_end_of_early_data(self, message: bytes, events: list) -> None:
        """The end of the client's 0-RTT data: its handshake traffic key from now on (4.5)."""
        schedule, keys = self._schedule, self._client_hs_keys
        assert schedule is not None and keys is not None  # set when 0-RTT was accepted
        codec.parse_end_of_early_data(message[4:])
        schedule.update(message)
        self._early_data_left = None
        self._set_read_secret(*keys)
        self._client_hs_keys = None
        self._state = ServerState.WAIT_FINISHED

    # --- the client's second flight (4.4) -------------------------------------------------

    def _on_certificate(self, message: bytes, events: list) -> None:
        schedule = self._schedule
        assert schedule is not None  # set with the ServerHello
        certificate = codec.parse_certificate(message[4:])
        if certificate.certificate_request_context:
            raise IllegalParameterError("client Certificate with a request context we did not send")
        schedule.update(message)
        config = self._config
        if not certificate.certificate_list:
            if config.verify_client == "require":
                raise CertificateRequiredError("the client sent no certificate")
            self._state = ServerState.WAIT_FINISHED
            return
        self._peer_chain, self._peer_key = peer_certificate(
            certificate, verify=True, trust=config.trust, crls=config.crls, purpose="client",
            name=None, at=config.verify_time, backend=self._backend,
        )
        self._state = ServerState.WAIT_CV

    def _on_certificate_verify(self, message: bytes, events: list) -> None:
        schedule, requested = self._schedule, self._request_schemes
        assert schedule is not None  # set with the ServerHello
        assert requested is not None  # a Certificate comes only after our CertificateRequest
        verify = codec.parse_certificate_verify(message[4:])
        scheme = SIGNATURE_SCHEME_NAMES.get(verify.algorithm)
        if scheme is None or verify.algorithm not in requested:
            raise IllegalParameterError("CertificateVerify with a scheme we did not offer")
        transcript_hash = schedule.transcript_hash()
        content = signatures.signed_content(signatures.CLIENT_CONTEXT, transcript_hash)
        signatures.verify(self._peer_key, scheme, content, verify.signature)
        schedule.update(message)
        self._state = ServerState.WAIT_FINISHED

    def _on_finished(self, message: bytes, events: list) -> None:
        schedule, suite = self._schedule, self.suite
        assert schedule is not None and suite is not None  # set with the ServerHello
        client_hs, client_ap_keys = self._client_hs, self._client_ap_keys
        assert client_hs is not None and client_ap_keys is not None  # kept until this Finished
        if len(message) - 4 != suite.hash_len:
            raise DecodeError("client Finished of the wrong length")
        expected = schedule.finished(client_hs)
        if not hmac.compare_digest(expected, message[4:]):
            raise errors.DecryptError("client Finished does not verify")
        self._set_read_secret(*client_ap_keys)
        self._ccs_allowed = False
        self._client_hs = self._client_ap_keys = None
        self.handshake_complete = True
        self._state = ServerState.CONNECTED
        resumed = self._resumed
        events.append(HandshakeComplete(
            cipher_suite=suite.name, group=self._group,
            alpn_protocol=self._alpn.decode("latin-1") if self._alpn is not None else None,
            server_name=self._server_name, peer_chain=self._peer_chain,
            signature_scheme=self._scheme, resumed=resumed is not None,
            early_data_accepted=self._early_data_accepted,
        ))
        if self._wants_tickets:
            schedule.update(message)  # the resumption master secret covers it (7.1)
            self.send_session_tickets()

    def send_session_tickets(self, count: int | None = None) -> None:
        """Queue ``count`` NewSessionTickets (RFC 8446 4.6.1). After the handshake, when the
        client asks for tickets, the server sends ``ticket_count`` of them after a full
        handshake and one after a resumed one (as OpenSSL does: each resumption uses one)."""
        if not self.handshake_complete or self.closed:
            raise LocalProtocolError("session tickets are sent after the handshake")
        config = self._config
        if count is None:
            count = config.ticket_count if self._resumed is None else min(1, config.ticket_count)
        chain = config._peer_chains.add(self._peer_chain) if self._peer_chain else b""
        if count:
            self._send_handshake(new_session_tickets(
                config, self._schedule, self.suite, count, alpn=self._alpn,
                server_name=self._server_name, peer_chain=chain))


def _transitions() -> dict:
    """RFC 8446 appendix A.2: (state, message) -> the handler and the states it leads to."""
    C, S = ServerConnection, ServerState
    return {
        # WAIT_CH again after a HelloRetryRequest, WAIT_EOED when 0-RTT data is accepted,
        # WAIT_CERT after a CertificateRequest
        (S.WAIT_CH, HT.client_hello):
            transition(C._on_client_hello, S.WAIT_CH, S.WAIT_EOED, S.WAIT_CERT, S.WAIT_FINISHED),
        (S.WAIT_EOED, HT.end_of_early_data):
            transition(C._on_end_of_early_data, S.WAIT_FINISHED),
        # WAIT_FINISHED after an empty Certificate
        (S.WAIT_CERT, HT.certificate): transition(C._on_certificate, S.WAIT_CV, S.WAIT_FINISHED),
        (S.WAIT_CV, HT.certificate_verify): transition(C._on_certificate_verify, S.WAIT_FINISHED),
        (S.WAIT_FINISHED, HT.finished): transition(C._on_finished, S.CONNECTED),
        (S.CONNECTED, HT.key_update): transition(C._on_key_update, S.CONNECTED),
    }


SERVER_TRANSITIONS = _transitions()
ServerConnection._transitions = SERVER_TRANSITIONS
