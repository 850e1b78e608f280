"""Typed exceptions of the engine.

Every error the engine raises on purpose is an :class:`EngineError`. TLS faults carry the alert
that RFC 8446 section 6.2 names for them: a :class:`ProtocolError` is a fault of the peer (we send
its alert and close), a :class:`PeerAlertError` is a fatal alert the peer sent us, and a
:class:`LocalProtocolError` is a misuse of the API by our own caller. A :class:`TLSError` is an
:class:`OSError`, as ``ssl.SSLError`` is, so code that catches OSError around network I/O keeps
working. Messages never hold secrets; each begins with a plain sentence.
"""

from __future__ import annotations

import enum


class AlertDescription(enum.IntEnum):
    """TLS alert descriptions (RFC 8446 section 6)."""

    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    record_overflow = 22
    handshake_failure = 40
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86
    user_canceled = 90
    missing_extension = 109
    unsupported_extension = 110
    unrecognized_name = 112
    bad_certificate_status_response = 113
    unknown_psk_identity = 115
    certificate_required = 116
    no_application_protocol = 120


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class BackendError(EngineError):
    """The requested implementation (native or python) cannot be used."""


# --- public-key infrastructure ------------------------------------------------------------


class PKIError(EngineError):
    """Base of the certificate, key and revocation errors."""


class CertificateError(PKIError, ValueError):
    """A certificate file or blob that cannot be read in full (a ValueError too, so that
    callers catching ValueError for unreadable input go on working)."""


class CAError(PKIError):
    """A certificate authority operation failed (bad directory, unknown serial...)."""


class TrustStoreError(PKIError):
    """A certificate cannot be trusted as a CA, or a bundle cannot be read."""


class KeyStoreError(PKIError):
    """A KeyStore cannot be opened or written: wrong password, corrupt or truncated file."""


class CRLError(PKIError):
    """A certificate revocation list is unreadable or does not check out.

    ``reason`` is one of ``malformed``, ``bad_signature``, ``wrong_issuer``, ``no_crl_sign``,
    ``expired`` (past nextUpdate) or ``not_yet_valid`` (before thisUpdate).
    """

    def __init__(self, message: str, reason: str = "malformed"):
        super().__init__(message)
        self.reason = reason


class AuthError(EngineError):
    """An administrator account operation failed (unknown user, bad password file...)."""


# --- record protection --------------------------------------------------------------------


class RecordError(EngineError):
    """Base of the record-protection errors raised by engine.records."""


# --- TLS ----------------------------------------------------------------------------------


class TLSError(EngineError, OSError):
    """Base of the TLS connection errors; an OSError, as ``ssl.SSLError`` is.

    Made with one argument, the message (OSError reads two as errno and strerror); ``errno`` and
    ``strerror`` are None. ``events``: when a connection's ``receive_data`` raised it, the events
    of that call that came before the fault (application data, say); else empty.
    """

    def __init__(self, *args, events=()):
        super().__init__(*args)
        self.events: list = list(events)


class TLSEOFError(TLSError, ConnectionAbortedError):
    """The transport ended without close_notify (RFC 8446 section 6.1), as ``ssl.SSLEOFError``:
    what was received may be truncated. During the handshake it is also the
    ConnectionAbortedError that ended it."""


class LocalProtocolError(TLSError):
    """Our caller used the connection wrongly (sent data before the handshake, after close...)."""


class PeerAlertError(TLSError):
    """The peer sent a fatal alert; the connection is closed."""

    def __init__(self, description: AlertDescription | int, message: str | None = None, *,
                 events=()):
        try:
            description = AlertDescription(description)
            name = description.name
        except ValueError:
            name = "unknown alert %d" % description
        super().__init__(message or "peer sent alert %s" % name, events=events)
        self.description = description


class ProtocolError(TLSError):
    """The peer broke the protocol: we send ``alert`` and close the connection.

    Subclasses fix the alert; the base class takes it as an argument.
    """

    alert: AlertDescription = AlertDescription.internal_error

    def __init__(self, message: str, alert: AlertDescription | None = None, *, events=()):
        super().__init__(message, events=events)
        if alert is not None:
            self.alert = AlertDescription(alert)


class PeerCertificateError(ProtocolError):
    """Base of the alerts about the peer's certificate (RFC 8446 section 6.2).

    ``reason`` is the verdict reason of engine.verify behind it (``expired``, ``untrusted``,
    ``malformed``...), or None when no verdict was reached.
    """

    def __init__(self, message: str, alert: AlertDescription | None = None, *,
                 reason: str | None = None, events=()):
        super().__init__(message, alert, events=events)
        self.reason = reason


class UnexpectedMessageError(ProtocolError):
    """A message arrived in the wrong state."""

    alert = AlertDescription.unexpected_message


class BadRecordMacError(ProtocolError):
    """A record failed authentication."""

    alert = AlertDescription.bad_record_mac


class RecordOverflowError(ProtocolError):
    """A record exceeded the size limit."""

    alert = AlertDescription.record_overflow


class HandshakeFailureError(ProtocolError):
    """No acceptable set of parameters."""

    alert = AlertDescription.handshake_failure


class BadCertificateError(PeerCertificateError):
    """A certificate was corrupt or failed checks."""

    alert = AlertDescription.bad_certificate


class UnsupportedCertificateError(PeerCertificateError):
    """A certificate was of an unsupported type or usage."""

    alert = AlertDescription.unsupported_certificate


class CertificateRevokedError(PeerCertificateError):
    """A certificate was revoked."""

    alert = AlertDescription.certificate_revoked


class CertificateExpiredError(PeerCertificateError):
    """A certificate is out of its validity."""

    alert = AlertDescription.certificate_expired


class CertificateUnknownError(PeerCertificateError):
    """A certificate could not be checked."""

    alert = AlertDescription.certificate_unknown


class IllegalParameterError(ProtocolError):
    """A field was out of range or inconsistent."""

    alert = AlertDescription.illegal_parameter


class UnknownCaError(PeerCertificateError):
    """The chain does not lead to a trusted CA."""

    alert = AlertDescription.unknown_ca


class DecodeError(ProtocolError):
    """A message could not be parsed."""

    alert = AlertDescription.decode_error


class DecryptError(ProtocolError):
    """A signature or Finished value did not verify."""

    alert = AlertDescription.decrypt_error


class ProtocolVersionError(ProtocolError):
    """The peer does not speak TLS 1.3."""

    alert = AlertDescription.protocol_version


class InsufficientSecurityError(ProtocolError):
    """Parameters are too weak."""

    alert = AlertDescription.insufficient_security


class InternalError(ProtocolError):
    """An error unrelated to the peer."""

    alert = AlertDescription.internal_error


class MissingExtensionError(ProtocolError):
    """A mandatory extension was absent."""

    alert = AlertDescription.missing_extension


class UnsupportedExtensionError(ProtocolError):
    """An extension appeared where it is not allowed."""

    alert = AlertDescription.unsupported_extension


class UnrecognizedNameError(ProtocolError):
    """No certificate for the server name."""

    alert = AlertDescription.unrecognized_name


class CertificateRequiredError(ProtocolError):
    """A client certificate was required."""

    alert = AlertDescription.certificate_required


class NoApplicationProtocolError(ProtocolError):
    """No ALPN protocol in common."""

    alert = AlertDescription.no_application_protocol


# --- a batch of records that stopped (engine.records.Opener) -------------------------------


class RecordBatchStop:
    """What an error of engine.records' Opener says of its batch (a mixin of those errors).

    ``index`` is the position of the record at fault in the batch; ``segments`` and
    ``consumed`` hold what the records before it gave (no plaintext of the record at fault is
    released).
    """

    def __init__(self, message: str, index: int, segments=(), consumed: int = 0):
        super().__init__(message)  # type: ignore[call-arg]
        self.index = index
        self.segments = list(segments)
        self.consumed = consumed


class RecordAuthenticationError(RecordBatchStop, BadRecordMacError, RecordError):
    """A record failed authentication when opened by engine.records."""


class RecordLengthError(RecordBatchStop, RecordOverflowError):
    """A record longer than 2^14 + 256 bytes, or with an inner plaintext over 2^14 + 1 bytes,
    opened by engine.records (RFC 8446 section 5.2)."""


class RecordContentTypeError(RecordBatchStop, UnexpectedMessageError):
    """A record whose inner plaintext is all zeros, with no content type, opened by
    engine.records (RFC 8446 section 5.4)."""


class RecordSequenceError(RecordBatchStop, RecordError):
    """A record that would need a sequence number past 2^64 - 1 (RFC 8446 section 5.3)."""
