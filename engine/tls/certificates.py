"""Certificates in the handshake: our credentials and the check of the peer's chain.

A :class:`Credential` is a KeyStore prepared once per configuration: its Certificate message
bytes, the signature schemes its key can make and the names it serves. :func:`select_credential`
picks one by server name and the client's signature_algorithms (RFC 8446 section 4.4.2.2).
:func:`peer_certificate` runs :func:`engine.verify.verify_chains` and turns a refusal into the
alert of RFC 8446 section 6.2.
"""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .. import errors
from . import codec, signatures
from .constants import SIGNATURE_SCHEME_CODES

# Verdict reasons of engine.verify and the alert each one sends.
REASON_ERRORS = {
    "expired": errors.CertificateExpiredError,
    "not_yet_valid": errors.CertificateExpiredError,
    "revoked": errors.CertificateRevokedError,
    "untrusted": errors.UnknownCaError,
    "bad_signature": errors.BadCertificateError,
    "name_mismatch": errors.BadCertificateError,
    "path_too_long": errors.BadCertificateError,
    "invalid_ca": errors.BadCertificateError,
    "malformed": errors.BadCertificateError,
    "bad_usage": errors.UnsupportedCertificateError,
    "unsupported": errors.UnsupportedCertificateError,
    "crl_invalid": errors.CertificateUnknownError,
}


# What each verdict reason means, in a sentence that comes before the verifier's own words.
REASON_SENTENCES = {
    "expired": "the peer's certificate has expired",
    "not_yet_valid": "the peer's certificate is not valid yet",
    "revoked": "the peer's certificate is revoked",
    "untrusted": "the peer's certificate chain does not lead to a trusted CA",
    "bad_signature": "a signature in the peer's certificate chain does not verify",
    "name_mismatch": "the peer's certificate is not valid for the name asked for",
    "path_too_long": "the peer's certificate chain is longer than its CAs allow",
    "invalid_ca": "a certificate in the peer's chain is not a valid CA",
    "malformed": "the peer's certificate cannot be read",
    "bad_usage": "the peer's certificate is not for this use",
    "unsupported": "the peer's certificate uses an algorithm that is not supported",
    "crl_invalid": "a CRL for the peer's chain cannot be used",
}


def certificate_error(reason: str, detail: str = "",
                      sentence: str = "") -> errors.PeerCertificateError:
    """The PeerCertificateError for a verdict reason, with ``.reason`` set: a plain sentence,
    then the reason and the verifier's detail in parentheses."""
    cls = REASON_ERRORS.get(reason, errors.BadCertificateError)
    sentence = sentence or REASON_SENTENCES.get(reason, "the peer's certificate is refused")
    message = "%s (peer certificate rejected: %s%s)" % (sentence, reason,
                                                         "; " + detail if detail else "")
    return cls(message, reason=reason)


def name_mismatch_sentence(name: str, leaf: x509.Certificate) -> str:
    """The name expected and the names ``leaf`` holds (its DNS and IP subjectAltNames)."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        san = None
    held = [] if san is None else (
        ["DNS:%s" % n for n in san.get_values_for_type(x509.DNSName)]
        + ["IP:%s" % n for n in san.get_values_for_type(x509.IPAddress)])
    return "the peer's certificate is not valid for %r: it holds %s" % (
        name, ", ".join(held) if held else "no DNS name or IP address")


class Credential:
    """One KeyStore made ready for handshakes: parsed once, its Certificate message built once."""

    __slots__ = ("keystore", "private_key", "schemes", "dns_names", "ip_addresses",
                 "certificate_message", "_served")

    def __init__(self, keystore):
        self.keystore = keystore
        self.private_key = keystore.private_key
        self.schemes = signatures.schemes_for_key(self.private_key)
        chain = [keystore.certificate, *keystore.chain]
        entries = [(cert.public_bytes(Encoding.DER), b"") for cert in chain]
        self.certificate_message = codec.build_certificate(codec.Certificate(b"", entries))
        self._served: dict = {}
        self.dns_names: list[str] = []
        self.ip_addresses: list = []
        try:
            san = keystore.certificate.extensions.get_extension_for_class(
                x509.SubjectAlternativeName
            ).value
        except x509.ExtensionNotFound:
            san = None
        if san is not None:
            self.dns_names = [name.lower() for name in san.get_values_for_type(x509.DNSName)]
            self.ip_addresses = list(san.get_values_for_type(x509.IPAddress))

    def certificate_message_with_context(self, context: bytes) -> bytes:
        if not context:
            return self.certificate_message
        body = self.certificate_message[4:]
        body = bytes((len(context),)) + context + body[1:]  # body[0] was the empty context
        return codec.handshake(self.certificate_message[0], body)

    def serves(self, server_name: str) -> bool:
        """Whether a SAN of the certificate matches ``server_name`` (RFC 6125 wildcards)."""
        answer = self._served.get(server_name)
        if answer is None:
            answer = self._match(server_name)
            if len(self._served) < 1024:
                self._served[server_name] = answer
        return answer

    def _match(self, server_name: str) -> bool:
        try:
            address = ipaddress.ip_address(server_name)
        except ValueError:
            address = None
        if address is not None:
            return address in self.ip_addresses
        name = server_name.lower().rstrip(".")
        for pattern in self.dns_names:
            if pattern == name:
                return True
            if pattern.startswith("*.") and "." in name:
                if name.split(".", 1)[1] == pattern[2:]:
                    return True
        return False


def select_credential(credentials, server_name: str | None, peer_schemes) -> tuple[Credential, str]:
    """Pick (credential, scheme): one naming ``server_name`` if any does, else any (the default).

    ``peer_schemes`` holds the client's signature_algorithms code points; we take its first
    scheme our key can sign with. No credential with a common scheme is handshake_failure.
    """
    if server_name:
        named = [c for c in credentials if c.serves(server_name)]
        candidates = named + [c for c in credentials if c not in named]
    else:
        candidates = list(credentials)
    offered = set(peer_schemes)
    for credential in candidates:
        for scheme in credential.schemes:
            if SIGNATURE_SCHEME_CODES[scheme] in offered:
                return credential, scheme
    raise errors.HandshakeFailureError(
        "no certificate signs with a scheme from the peer's signature_algorithms"
    )


_PARSED_CHAINS = 64
_parsed_chains: dict = {}


def load_chain(certificate: codec.Certificate):
    """``(DER entries, parsed chain, leaf public key)`` of a Certificate message (bad DER:
    bad_certificate; a key of an unknown kind: unsupported_certificate). The parsed form of a
    chain seen lately is reused: certificates and keys are immutable values of their bytes."""
    for _, extensions in certificate.certificate_list:
        if extensions:  # we ask for no status_request or SCTs, so none may come (section 4.4.2)
            from .extensions import read_extensions
            from .wire import Reader

            reader = Reader(len(extensions).to_bytes(2, "big") + extensions)
            found = read_extensions(reader)
            if found:
                raise errors.UnsupportedExtensionError(
                    "CertificateEntry carries extension %d we did not ask for" % found[0][0]
                )
    ders = tuple(cert_data for cert_data, _ in certificate.certificate_list)
    known = _parsed_chains.get(ders)
    if known is not None:
        return ders, known[0], known[1]
    from ..verify.inputs import quiet

    try:
        with quiet():  # a non-positive serial warns: a peer must not write to our stderr
            parsed = tuple(x509.load_der_x509_certificate(der) for der in ders)
        public_key = parsed[0].public_key()
    except (ValueError, TypeError) as exc:
        raise errors.BadCertificateError("the peer's certificate cannot be parsed (%s)" % exc,
                                         reason="malformed") from None
    except Exception:  # cryptography raises UnsupportedAlgorithm for unknown key types
        raise errors.UnsupportedCertificateError("peer certificate key is not supported",
                                                 reason="unsupported") from None
    if len(_parsed_chains) >= _PARSED_CHAINS:
        _parsed_chains.clear()  # a bound, not a policy: the next handshakes parse again
    _parsed_chains[ders] = (parsed, public_key)
    return ders, parsed, public_key


def peer_certificate(certificate: codec.Certificate, *, verify: bool, trust, crls, purpose: str,
                     name: str | None, at=None, backend: str | None = None):
    """``(chain, leaf public key)`` of the peer's Certificate, its chain verified if ``verify``.

    The chain is the verified path, leaf first and the trust anchor last, when ``verify``;
    otherwise the certificates as the peer sent them.

    Every call verifies the chain (engine.verify remembers signatures it has already checked,
    never verdicts: validity, names, usage and revocation are judged each time). A refusal
    raises the certificate alert of its verdict reason.
    """
    ders, chain, public_key = load_chain(certificate)
    if verify:
        from ..verify import verify_chains

        verdict = verify_chains(
            [ders], trust, crls=crls or (), at=at, purpose=purpose,
            names=None if name is None else [name], threads=1, backend=backend,
        )[0]
        if not verdict.ok:
            reason = verdict.reason or "malformed"
            sentence = (name_mismatch_sentence(name, chain[0])
                        if reason == "name_mismatch" and name is not None else "")
            raise certificate_error(reason, verdict.detail or "", sentence)
        chain = tuple(verdict.chain)
    return chain, public_key
