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
    ``strerror`` are None.
    """


class TLSEOFError(TLSError, ConnectionAbortedError):
    """The transport ended without close_notify (RFC 8446 section 6.1), as ``ssl.SSLEOFError``:
    what was received may be truncated. During the handshake it is also the
    ConnectionAbortedError that ended it."""


class LocalProtocolError(TLSError):
    """Our caller used the connection wrongly (sent data before the handshake, after close...)."""


class PeerAlertError(TLSError):
    """The peer sent a fatal alert; the connection is closed."""

    def __init__(self, description: AlertDescription | int, message: str | None = None):
        try:
            description = AlertDescription(description)
            name = description.name
        except ValueError:
            name = "unknown alert %d" % description
        super().__init__(message or "peer sent alert %s" % name)
        self.description = description


class ProtocolError(TLSError):
    """The peer broke the protocol: we send ``alert`` and close the connection.

    Subclasses fix the alert; the base class takes it as an argument.
    """

    alert: AlertDescription = AlertDescription.internal_error

    def __init__(self, message: str, alert: AlertDescription | None = None):
        super().__init__(message)
        if alert is not None:
            self.alert = AlertDescription(alert)


def _alert_error(name: str, doc: str) -> type:
    class_name = "".join(part.capitalize() for part in name.split("_"))
    if not class_name.endswith("Error"):
        class_name += "Error"
    return type(
        class_name,
        (ProtocolError,),
        {"alert": AlertDescription[name], "__doc__": doc, "__module__": __name__},
    )


UnexpectedMessageError = _alert_error("unexpected_message", "A message arrived in the wrong state.")
BadRecordMacError = _alert_error("bad_record_mac", "A record failed authentication.")
RecordOverflowError = _alert_error("record_overflow", "A record exceeded the size limit.")
HandshakeFailureError = _alert_error("handshake_failure", "No acceptable set of parameters.")
BadCertificateError = _alert_error("bad_certificate", "A certificate was corrupt or failed checks.")
UnsupportedCertificateError = _alert_error(
    "unsupported_certificate", "A certificate was of an unsupported type or usage."
)
CertificateRevokedError = _alert_error("certificate_revoked", "A certificate was revoked.")
CertificateExpiredError = _alert_error("certificate_expired", "A certificate is out of its validity.")
CertificateUnknownError = _alert_error("certificate_unknown", "A certificate could not be checked.")
IllegalParameterError = _alert_error("illegal_parameter", "A field was out of range or inconsistent.")
UnknownCaError = _alert_error("unknown_ca", "The chain does not lead to a trusted CA.")
DecodeError = _alert_error("decode_error", "A message could not be parsed.")
DecryptError = _alert_error("decrypt_error", "A signature or Finished value did not verify.")
ProtocolVersionError = _alert_error("protocol_version", "The peer does not speak TLS 1.3.")
InsufficientSecurityError = _alert_error("insufficient_security", "Parameters are too weak.")
InternalError = _alert_error("internal_error", "An error unrelated to the peer.")
MissingExtensionError = _alert_error("missing_extension", "A mandatory extension was absent.")
UnsupportedExtensionError = _alert_error(
    "unsupported_extension", "An extension appeared where it is not allowed."
)
UnrecognizedNameError = _alert_error("unrecognized_name", "No certificate for the server name.")
CertificateRequiredError = _alert_error("certificate_required", "A client certificate was required.")
NoApplicationProtocolError = _alert_error(
    "no_application_protocol", "No ALPN protocol in common."
)


class RecordAuthenticationError(BadRecordMacError, RecordError):
    """A record failed authentication when opened by engine.records.

    ``index`` is the position of the failing record in the batch; ``segments`` and ``consumed``
    hold what the records before it gave (no plaintext of the failing record is released).
    """

    def __init__(self, message: str, index: int, segments=(), consumed: int = 0):
        super().__init__(message)
        self.index = index
        self.segments = list(segments)
        self.consumed = consumed
