"""The TLS 1.3 client (RFC 8446 section 2, appendix A.1), one handler per accepted message."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import os
from typing import TYPE_CHECKING

from .._buffers import BytesLike
from .. import _backend, errors
from ..errors import (
    HandshakeFailureError, IllegalParameterError, LocalProtocolError, MissingExtensionError,
    ProtocolVersionError, UnexpectedMessageError, UnsupportedExtensionError,
)
from . import codec, signatures
from .certificates import peer_certificate, select_credential
from .config import ClientConfig, check_server_name
from .connection import Connection, _check_bytes
from .constants import (
    CERTIFICATE_SIGNATURE_CODES, DOWNGRADE_TLS11, DOWNGRADE_TLS12, GROUP_CODES, GROUP_NAMES,
    LEGACY_VERSION, SIGNATURE_SCHEME_CODES, SIGNATURE_SCHEME_NAMES, SUITE_BY_CODE, TLS13,
    ContentType,
)
from .constants import ExtensionType as ET
from .constants import HandshakeType as HT
from .events import EarlyDataRejected, HandshakeComplete, SessionTicketReceived
from .key_exchange import KeyShare
from .key_schedule import KeySchedule
from .keylog import write_keylog
from .resumption import PSK_DHE_KE, PSK_KE, bind, offered_psk, session_from_ticket
from .session import Session
from .states import ClientState, transition

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

    from .key_schedule import EarlyStage, TrafficKeys

_SERVER_HELLO_EXTENSIONS = {ET.supported_versions, ET.key_share}
# Extensions that RFC 8446 section 4.2 puts in other messages than EncryptedExtensions.
_NOT_IN_ENCRYPTED_EXTENSIONS = {
    ET.supported_versions, ET.key_share, ET.cookie, ET.pre_shared_key, ET.signature_algorithms,
    ET.signature_algorithms_cert, ET.psk_key_exchange_modes, ET.certificate_authorities,
}
_RETRY_EXTENSIONS = {ET.supported_versions, ET.key_share, ET.cookie}


@functools.lru_cache(maxsize=256)
def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class ClientConnection(Connection):
    """A TLS 1.3 client; the ClientHello is queued at construction.

    ``session`` (a :class:`~engine.tls.session.Session` of this server name) is resumed if it
    is still valid; without one, the newest from ``config.session_cache`` is (RFC 8446 2.2).
    ``early_data`` is sent as 0-RTT data after the ClientHello (2.3) when the session allows
    that much; :meth:`send_early_data` adds more. Whatever the server does not accept comes
    back in an :class:`~engine.tls.events.EarlyDataRejected` event before HandshakeComplete,
    to be sent again (or not) by the caller. The latest ticket the server sent is ``session``.
    """

    _config: ClientConfig
    _connected_state = ClientState.CONNECTED
    _closed_state = ClientState.CLOSED

    def __init__(self, config: ClientConfig, server_name: str | None = None,
                 session: Session | None = None, early_data: bytes | None = None) -> None:
        super().__init__(config)
        if config.verify and config.trust is None:
            raise LocalProtocolError("verify=True needs a trust store (ClientConfig.trust)")
        self._server_name = (check_server_name(server_name) if server_name is not None
                             else config.server_name)
        if early_data is not None:
            _check_bytes(early_data, "early_data")
        prepared = config._prepared
        # key shares in the order of supported_groups (RFC 8446 section 4.2.8)
        self._shares = {g: KeyShare(g) for g in config.groups if g in config.key_share_groups}
        self.client_random = os.urandom(32)
        self._hello = codec.ClientHello(
            random=self.client_random,
            legacy_session_id=os.urandom(32) if config.middlebox_compat else b"",
            cipher_suites=list(prepared.suite_codes),
            supported_versions=[TLS13],
            supported_groups=list(prepared.group_codes),
            signature_algorithms=list(prepared.scheme_codes),
            signature_algorithms_cert=list(CERTIFICATE_SIGNATURE_CODES),
            key_share=[(GROUP_CODES[g], share.public) for g, share in self._shares.items()],
            alpn_protocols=list(prepared.alpn) or None,
        )
        name = self._server_name
        if name and not _is_ip_address(name):
            self._hello.server_name = name
        self.session: Session | None = None  # the latest Session from the server's tickets
        self._resumption_master: bytes | None = None
        self._session = self._session_to_offer(session)
        self._psk_early: EarlyStage | None = None  # the early stage of the offered session's PSK
        self._resumed = False
        self._early_data = bytearray(early_data) if early_data is not None else None
        self._early_open = False  # 0-RTT data may still be written
        self._early_left = 0
        self._early_data_accepted: bool | None = None
        self._client_hs_keys: TrafficKeys | None = None  # kept while the early traffic key writes
        if prepared.psk_modes:
            self._hello.psk_key_exchange_modes = prepared.psk_modes
        if self._session is not None:
            self._hello.pre_shared_key = offered_psk(self._session)
            self._hello.early_data = self._may_send_early_data()
        self._client_hello = codec.build_client_hello(self._hello)
        if self._session is not None:
            suite = self._session.suite
            ks = _backend.key_schedule_kernels(self._backend)
            self._psk_early = ks.early(suite, self._session.psk, False, None)
            self._client_hello = bind(self._client_hello, suite, self._psk_early.binder_key, ks)
        self._retried: codec.ServerHello | None = None  # the HelloRetryRequest, once one came
        self._ccs_sent = False
        self._ccs_allowed = True
        self._certificate_request: codec.CertificateRequest | None = None
        self._peer_chain: tuple[x509.Certificate, ...] = ()
        self._peer_key: CertificatePublicKeyTypes | None = None
        self._peer_scheme: str | None = None
        self._alpn: str | None = None
        self._group: str | None = None
        # handshake traffic secrets, until Finished
        self._client_hs: bytes | None = None
        self._server_hs: bytes | None = None
        self._state = ClientState.WAIT_SH
        self._write_plaintext(ContentType.handshake, self._client_hello, 0x0301)
        if self._hello.early_data:
            self._start_early_data()

    # --- resumption and 0-RTT (2.2, 2.3, 4.2.10, 4.2.11) -------------------------------------

    def _session_to_offer(self, session: Session | None) -> Session | None:
        """The given session, else one from the config's cache, if it can be offered here."""
        config = self._config
        if not config._prepared.psk_modes:
            return None
        if session is not None:
            if not isinstance(session, Session):
                raise LocalProtocolError("session is a Session, not %s" % type(session).__name__)
            if session.server_name != self._server_name:
                raise LocalProtocolError("the session is for server name %r, not %r"
                                         % (session.server_name, self._server_name))
        else:
            session = config.session_cache.take(self._server_name)
        if session is None or not session.is_valid():
            return None
        if session.suite.hash_name not in config._prepared.hash_names:
            return None  # a PSK goes with a cipher suite of its hash (4.2.11)
        return session

    def _may_send_early_data(self) -> bool:
        """0-RTT needs data, a ticket allowing that much, and its suite and ALPN offered."""
        session, data = self._session, self._early_data
        assert session is not None  # asked only when a session is offered
        if data is None or not 0 < session.max_early_data >= len(data):
            return False
        alpn = session.alpn_protocol
        return session.cipher_suite in self._config.cipher_suites and (
            alpn is None or alpn.encode("latin-1") in self._config._prepared.alpn)

    def _start_early_data(self) -> None:
        """After the ClientHello (and a compatibility change_cipher_spec, D.4): the early
        traffic key, and the data given at construction."""
        session, data = self._session, self._early_data
        assert session is not None and data is not None  # 0-RTT is offered with both
        suite = session.suite
        ks = _backend.key_schedule_kernels(self._backend)
        hello_hash = hashlib.new(suite.hash_name, self._client_hello).digest()
        secret = ks.early(suite, session.psk, False, hello_hash).client_early_traffic
        key, iv, _ = ks.traffic(suite, secret)
        write_keylog(self._config.keylog_file, self.client_random,
                     (("CLIENT_EARLY_TRAFFIC_SECRET", secret),))
        self._send_compat_ccs()
        self._set_write_secret(secret, key, iv, suite=suite)
        self._early_open = True
        self._early_left = session.max_early_data - len(data)
        if data:
            self._write_early_data(bytes(data))

    def _write_early_data(self, data: bytes) -> None:
        if self._write_pending is not None:
            self._install_write_key()
        self._records.write(ContentType.application_data, data)

    def send_early_data(self, data: BytesLike) -> None:
        """Queue more 0-RTT data: possible when ``early_data`` was given at construction and
        the session allows it, until the server's flight is read, within the ticket's
        max_early_data_size (RFC 8446 4.2.10)."""
        _check_bytes(data, "send_early_data")
        if not self._early_open:
            raise LocalProtocolError("0-RTT data cannot be sent now (none offered, or the "
                                     "server's answer came)")
        data = bytes(data)
        if len(data) > self._early_left:
            raise LocalProtocolError("%d bytes of 0-RTT data exceed what the ticket allows "
                                     "(%d left)" % (len(data), self._early_left))
        if data:
            assert self._early_data is not None  # open only when early_data was given
            self._early_left -= len(data)
            self._early_data += data
            self._write_early_data(data)

    @property
    def early_data_open(self) -> bool:
        """True while :meth:`send_early_data` may be called."""
        return self._early_open

    def _end_early_data(self, accepted: bool) -> None:
        """The server's answer to our 0-RTT offer; refused, the handshake key writes now."""
        self._early_open = False
        self._early_data_accepted = accepted
        if not accepted and self._client_hs_keys is not None:
            self._set_write_secret(*self._client_hs_keys)
            self._client_hs_keys = None

    # --- ServerHello and HelloRetryRequest (4.1.3, 4.1.4) -------------------------------------

    def _on_server_hello(self, message: bytes, events: list) -> None:
        hello = codec.parse_server_hello(message[4:])
        if hello.supported_version is None:
            tail = hello.random[-8:]
            if tail in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
                raise IllegalParameterError("ServerHello.random carries a downgrade sentinel")
            raise ProtocolVersionError("the server did not select TLS 1.3")
        if hello.supported_version != TLS13:
            raise IllegalParameterError(
                "the server selected version 0x%04x" % hello.supported_version
            )
        if hello.legacy_version != LEGACY_VERSION:  # 4.1.3: TLS 1.3 servers send 0x0303
            raise ProtocolVersionError(
                "ServerHello.legacy_version is 0x%04x, not 0x0303" % hello.legacy_version
            )
        if hello.legacy_session_id_echo != self._hello.legacy_session_id:
            raise IllegalParameterError("legacy_session_id_echo differs from what we sent")
        if hello.legacy_compression_method != 0:
            raise IllegalParameterError("legacy_compression_method is not 0")
        suite = SUITE_BY_CODE.get(hello.cipher_suite)
        if suite is None or suite.code not in self._hello.cipher_suites:
            raise IllegalParameterError("the server selected a cipher suite we did not offer")
        if hello.is_hello_retry_request:
            self._on_hello_retry_request(hello, suite, message)
            return
        for ext_type, _ in hello.other_extensions:
            if ext_type not in _SERVER_HELLO_EXTENSIONS:
                raise UnsupportedExtensionError("ServerHello carries extension %d" % ext_type)
        if self._retried is not None and suite is not self.suite:
            raise IllegalParameterError("the cipher suite differs from the HelloRetryRequest's")
        if hello.pre_shared_key is not None:
            self._check_selected_psk(hello.pre_shared_key, suite)
        modes = self._config._prepared.psk_modes
        if hello.key_share is None:
            if not self._resumed or PSK_KE not in modes:
                raise MissingExtensionError("ServerHello without key_share")
            shared_secret = group = None  # psk_ke: no (EC)DHE (4.2.9)
        else:
            if self._resumed and PSK_DHE_KE not in modes:
                raise IllegalParameterError("key_share in a psk_ke resumption (4.2.9)")
            group_code, server_share = hello.key_share
            group = GROUP_NAMES.get(group_code)
            share = self._shares.get(group) if group is not None else None
            if share is None:
                raise IllegalParameterError("ServerHello key_share for a group we sent no "
                                            "share for")
            shared_secret = share.exchange(server_share)
        self._group = group
        if self._schedule is None:
            self.suite = suite
            self._schedule = KeySchedule(suite, self._backend)
            self._schedule.update(self._client_hello)
        schedule = self._schedule
        if self._resumed:
            assert self._psk_early is not None  # made with the session offered
            schedule.use_early_secret(self._psk_early.secret)
        schedule.update(message)
        stage = schedule.handshake_traffic(shared_secret)
        self._client_hs, self._server_hs = stage.client.secret, stage.server.secret
        write_keylog(self._config.keylog_file, self.client_random, (
            ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", self._client_hs),
            ("SERVER_HANDSHAKE_TRAFFIC_SECRET", self._server_hs),
        ))
        self._set_read_secret(*stage.server)
        if self._early_open and self._resumed:
            self._client_hs_keys = stage.client  # the early key writes until EndOfEarlyData
        else:
            if self._early_open:
                self._end_early_data(False)
            self._set_write_secret(*stage.client)  # alerts from now on are protected (6)
        self._state = ClientState.WAIT_EE

    def _check_selected_psk(self, selected: int, suite) -> None:
        """The server resumes our session: its identity, with a suite of its hash (4.2.11)."""
        if self._session is None:
            raise UnsupportedExtensionError("pre_shared_key in ServerHello, none offered")
        if selected != 0:
            raise IllegalParameterError("the server selected PSK identity %d of 1" % selected)
        if suite.hash_name != self._session.suite.hash_name:
            raise IllegalParameterError("the server resumes with a suite of another hash")
        self._resumed = True

    def _on_hello_retry_request(self, hello, suite, message: bytes) -> None:
        if self._retried is not None:
            raise UnexpectedMessageError("a second HelloRetryRequest")
        for ext_type, _ in hello.other_extensions:
            if ext_type not in _RETRY_EXTENSIONS:
                raise UnsupportedExtensionError("HelloRetryRequest carries extension %d" % ext_type)
        group = GROUP_NAMES.get(hello.selected_group) if hello.selected_group is not None else None
        if hello.selected_group is not None:
            if group is None or group not in self._config.groups:
                raise IllegalParameterError("HelloRetryRequest selects a group we did not offer")
            if group in self._shares:
                raise IllegalParameterError("HelloRetryRequest selects a group we sent a share for")
        elif hello.cookie is None:
            raise IllegalParameterError("HelloRetryRequest that would change nothing")
        self._retried = hello
        self.suite = suite
        self._schedule = KeySchedule(suite, self._backend)
        self._schedule.replace_client_hello(self._client_hello)
        self._schedule.update(message)
        if group is not None:
            self._shares = {group: KeyShare(group)}
            self._hello.key_share = [(GROUP_CODES[group], self._shares[group].public)]
        self._hello.cookie = hello.cookie
        # no early data after a HelloRetryRequest (4.1.2): the one thing removed, not changed
        self._hello.other_extensions = [
            e for e in self._hello.other_extensions if e[0] != ET.early_data
        ]
        self._hello.early_data = False
        if self._early_open:
            self._end_early_data(False)
        session = self._session
        if session is not None and session.suite.hash_name != suite.hash_name:
            session = self._session = self._hello.pre_shared_key = None  # of no use (4.1.2)
        if session is not None:
            self._hello.pre_shared_key = offered_psk(session)  # the age now
        self._client_hello = codec.build_client_hello(self._hello)
        if session is not None:
            assert self._psk_early is not None  # made with the session offered
            kernels = _backend.key_schedule_kernels(self._backend)
            self._client_hello = bind(self._client_hello, session.suite,
                                      self._psk_early.binder_key, kernels, self._schedule)
        self._schedule.update(self._client_hello)
        self._send_compat_ccs()
        self._write_plaintext(ContentType.handshake, self._client_hello)
        self._state = ClientState.WAIT_SH

    def _fail(self, alert, reason: str) -> None:
        if self._write_protected and self._failed is None and not self._send_closed:
            self._send_compat_ccs()  # the server expects it before our first protected record
        super()._fail(alert, reason)

    def _send_compat_ccs(self) -> None:
        """One change_cipher_spec before our second flight in compatibility mode (D.4)."""
        if self._config.middlebox_compat and not self._ccs_sent:
            self._send_change_cipher_spec()
            self._ccs_sent = True

    # --- the server's encrypted flight (4.3, 4.4) ---------------------------------------------

    def _on_encrypted_extensions(self, message: bytes, events: list) -> None:
        schedule = self._schedule
        assert schedule is not None  # set by the ServerHello
        extensions = codec.parse_encrypted_extensions(message[4:])
        if extensions.alpn_protocol is not None:
            offered = self._hello.alpn_protocols or ()
            if not offered:
                raise UnsupportedExtensionError("ALPN in EncryptedExtensions that we did not offer")
            if extensions.alpn_protocol not in offered:
                raise IllegalParameterError("the server selected an ALPN protocol we did not offer")
            self._alpn = extensions.alpn_protocol.decode("latin-1")
        for ext_type, _ in extensions.other_extensions:
            if ext_type in _NOT_IN_ENCRYPTED_EXTENSIONS:
                raise IllegalParameterError(
                    "extension %d is not allowed in EncryptedExtensions" % ext_type
                )
            raise UnsupportedExtensionError(
                "EncryptedExtensions answers extension %d that we did not send" % ext_type
            )
        if extensions.server_name_acknowledged and self._hello.server_name is None:
            raise UnsupportedExtensionError("server_name acknowledged but not sent")
        if extensions.early_data:
            if not (self._early_open and self._resumed):
                raise UnsupportedExtensionError("early_data accepted, none offered")
            session, suite = self._session, self.suite
            assert session is not None and suite is not None  # resumed, after the ServerHello
            if suite.name != session.cipher_suite or self._alpn != session.alpn_protocol:
                raise IllegalParameterError("0-RTT accepted with another suite or ALPN (4.2.10)")
            self._end_early_data(True)
        elif self._early_open:
            self._end_early_data(False)
        schedule.update(message)
        self._state = ClientState.WAIT_FINISHED if self._resumed else ClientState.WAIT_CERT_CR

    def _on_certificate_request(self, message: bytes, events: list) -> None:
        schedule = self._schedule
        assert schedule is not None  # set by the ServerHello
        request = codec.parse_certificate_request(message[4:])
        if request.signature_algorithms is None:
            raise MissingExtensionError("CertificateRequest without signature_algorithms")
        self._certificate_request = request
        schedule.update(message)
        self._state = ClientState.WAIT_CERT

    def _on_certificate(self, message: bytes, events: list) -> None:
        schedule = self._schedule
        assert schedule is not None  # set by the ServerHello
        certificate = codec.parse_certificate(message[4:])
        if certificate.certificate_request_context:
            raise IllegalParameterError("server Certificate with a request context")
        if not certificate.certificate_list:
            raise errors.DecodeError("the server sent an empty Certificate")
        config = self._config
        self._peer_chain, self._peer_key = peer_certificate(
            certificate, verify=config.verify, trust=config.trust, crls=config.crls,
            purpose="server", name=self._server_name, at=config.verify_time,
            backend=self._backend,
        )
        schedule.update(message)
        self._state = ClientState.WAIT_CV

    def _on_certificate_verify(self, message: bytes, events: list) -> None:
        schedule, offered = self._schedule, self._hello.signature_algorithms
        assert schedule is not None  # set by the ServerHello
        assert offered is not None  # our ClientHello always has signature_algorithms
        verify = codec.parse_certificate_verify(message[4:])
        scheme = SIGNATURE_SCHEME_NAMES.get(verify.algorithm)
        if scheme is None or verify.algorithm not in offered:
            raise IllegalParameterError("CertificateVerify with a scheme we did not offer")
        transcript_hash = schedule.transcript_hash()
        content = signatures.signed_content(signatures.SERVER_CONTEXT, transcript_hash)
        signatures.verify(self._peer_key, scheme, content, verify.signature)
        self._peer_scheme = scheme
        schedule.update(message)
        self._state = ClientState.WAIT_FINISHED

    def _on_finished(self, message: bytes, events: list) -> None:
        schedule, suite = self._schedule, self.suite
        assert schedule is not None and suite is not None  # set by the ServerHello
        client_hs, server_hs = self._client_hs, self._server_hs
        assert client_hs is not None and server_hs is not None  # kept until this Finished
        received = codec.parse_finished(message[4:], suite.hash_len)
        expected = schedule.finished(server_hs)
        if not hmac.compare_digest(expected, received.verify_data):
            raise errors.DecryptError("server Finished does not verify")
        schedule.update(message)
        stage = schedule.application_traffic()
        client_ap, server_ap = stage.client.secret, stage.server.secret
        self._read_secret, self._write_secret = server_ap, client_ap
        self._set_read_secret(*stage.server)
        self._ccs_allowed = False
        self._send_compat_ccs()
        if self._early_data_accepted:
            self._send_handshake(codec.END_OF_EARLY_DATA)  # under the early key (4.5)
            schedule.update(codec.END_OF_EARLY_DATA)
            assert self._client_hs_keys is not None  # kept while the early key wrote
            self._set_write_secret(*self._client_hs_keys)
            self._client_hs_keys = None
        flight = []
        if self._certificate_request is not None:
            flight.extend(self._client_certificate())
        finished = codec.build_finished(codec.Finished(schedule.finished(client_hs)))
        schedule.update(finished)  # for the resumption master secret (7.1)
        flight.append(finished)
        self._send_handshake(b"".join(flight))
        self._set_write_secret(*stage.client)
        write_keylog(self._config.keylog_file, self.client_random, (
            ("CLIENT_TRAFFIC_SECRET_0", client_ap), ("SERVER_TRAFFIC_SECRET_0", server_ap),
        ))
        self._client_hs = self._server_hs = None
        self.handshake_complete = True
        self._state = ClientState.CONNECTED
        if self._resumed:
            assert self._session is not None  # the one resumed
            self._peer_chain = self._session.peer_chain
        if self._early_data is not None and not self._early_data_accepted:
            self._early_data_accepted = False
            events.append(EarlyDataRejected(bytes(self._early_data)))
        events.append(HandshakeComplete(
            cipher_suite=suite.name, group=self._group, alpn_protocol=self._alpn,
            server_name=self._server_name, peer_chain=self._peer_chain,
            signature_scheme=self._peer_scheme, resumed=self._resumed,
            early_data_accepted=self._early_data_accepted,
        ))

    def _client_certificate(self) -> list:
        """Our Certificate (and CertificateVerify) in answer to a CertificateRequest (4.4.2)."""
        request = self._certificate_request
        schedule = self._schedule
        # a request without signature_algorithms was refused; the ServerHello set the schedule
        assert request is not None and request.signature_algorithms is not None
        assert schedule is not None
        credential = self._config._credential
        chosen = None
        if credential is not None:
            allowed = [SIGNATURE_SCHEME_CODES[s] for s in self._config.signature_schemes]
            offered = [code for code in request.signature_algorithms if code in allowed]
            try:
                chosen = select_credential([credential], None, offered)
            except HandshakeFailureError:
                chosen = None
        context = request.certificate_request_context
        if chosen is None:
            empty = codec.build_certificate(codec.Certificate(context, []))
            schedule.update(empty)
            return [empty]
        credential, scheme = chosen
        certificate = credential.certificate_message_with_context(context)
        schedule.update(certificate)
        content = signatures.signed_content(signatures.CLIENT_CONTEXT, schedule.transcript_hash())
        signature = signatures.sign(credential.private_key, scheme, content)
        verify = codec.build_certificate_verify(
            codec.CertificateVerify(SIGNATURE_SCHEME_CODES[scheme], signature)
        )
        schedule.update(verify)
        return [certificate, verify]

    # --- after the handshake (4.6) --------------------------------------------------------

    def _on_new_session_ticket(self, message: bytes, events: list) -> None:
        """A ticket (4.6.1): a Session for the cache and a SessionTicketReceived event; a
        lifetime of zero means no ticket, and none is kept if we resume with no mode."""
        ticket = codec.parse_new_session_ticket(message[4:])
        if not ticket.ticket_lifetime or not self._config._prepared.psk_modes:
            return
        schedule = self._schedule
        assert schedule is not None  # connected
        if self._resumption_master is None:
            self._resumption_master = schedule.resumption_master_secret()
        session = session_from_ticket(
            ticket, schedule.ticket_psk(self._resumption_master, ticket.ticket_nonce), self.suite,
            server_name=self._server_name, alpn_protocol=self._alpn, peer_chain=self._peer_chain)
        self.session = session
        self._config.session_cache.add(session)
        events.append(SessionTicketReceived(session))


def _transitions() -> dict:
    """RFC 8446 appendix A.1: (state, message) -> the handler and the states it leads to."""
    C, S = ClientConnection, ClientState
    return {
        # WAIT_SH again after a HelloRetryRequest
        (S.WAIT_SH, HT.server_hello): transition(C._on_server_hello, S.WAIT_EE, S.WAIT_SH),
        # WAIT_FINISHED when resumed: no Certificate
        (S.WAIT_EE, HT.encrypted_extensions):
            transition(C._on_encrypted_extensions, S.WAIT_CERT_CR, S.WAIT_FINISHED),
        (S.WAIT_CERT_CR, HT.certificate_request):
            transition(C._on_certificate_request, S.WAIT_CERT),
        (S.WAIT_CERT_CR, HT.certificate): transition(C._on_certificate, S.WAIT_CV),
        (S.WAIT_CERT, HT.certificate): transition(C._on_certificate, S.WAIT_CV),
        (S.WAIT_CV, HT.certificate_verify): transition(C._on_certificate_verify, S.WAIT_FINISHED),
        (S.WAIT_FINISHED, HT.finished): transition(C._on_finished, S.CONNECTED),
        (S.CONNECTED, HT.new_session_ticket): transition(C._on_new_session_ticket, S.CONNECTED),
        (S.CONNECTED, HT.key_update): transition(C._on_key_update, S.CONNECTED),
    }


CLIENT_TRANSITIONS = _transitions()
ClientConnection._transitions = CLIENT_TRANSITIONS
