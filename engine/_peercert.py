"""A certificate in the shape ``ssl.SSLSocket.getpeercert()`` gives it.

Code written for ``ssl`` reads the peer's certificate as a dict: ``subject`` and ``issuer`` as
tuples of relative distinguished names, each a tuple of ``(attribute name, value)`` pairs with
OpenSSL's long attribute names; ``notBefore``/``notAfter`` as OpenSSL prints times;
``serialNumber`` in upper-case hex; ``subjectAltName`` as ``(type, value)`` pairs; and the
``OCSP``, ``caIssuers`` and ``crlDistributionPoints`` URIs when the certificate has them.
:func:`certificate_dict` builds that dict from a ``cryptography`` certificate, so
``ssl.match_hostname``-era code and loggers keep working.
"""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

__all__ = ["certificate_dict"]

# OpenSSL's long names (OBJ_nid2ln) for the attributes of distinguished names.
_ATTRIBUTE_NAMES = {
    "2.5.4.3": "commonName",
    "2.5.4.4": "surname",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.12": "title",
    "2.5.4.15": "businessCategory",
    "2.5.4.17": "postalCode",
    "2.5.4.42": "givenName",
    "2.5.4.43": "initials",
    "2.5.4.44": "generationQualifier",
    "2.5.4.46": "dnQualifier",
    "2.5.4.65": "pseudonym",
    "2.5.4.97": "organizationIdentifier",
    "0.9.2342.19200300.100.1.1": "userId",
    "0.9.2342.19200300.100.1.25": "domainComponent",
    "1.2.840.113549.1.9.1": "emailAddress",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionLocalityName",
    "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionStateOrProvinceName",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionCountryName",
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def certificate_dict(certificate: x509.Certificate) -> dict:
    """The dict ``ssl`` returns from ``getpeercert()`` for ``certificate``."""
    out = {
        "subject": _name(certificate.subject),
        "issuer": _name(certificate.issuer),
        "version": certificate.version.value + 1,
        "serialNumber": _serial(certificate.serial_number),
        "notBefore": _time(certificate.not_valid_before_utc),
        "notAfter": _time(certificate.not_valid_after_utc),
    }
    extensions = certificate.extensions
    san = _extension(extensions, x509.SubjectAlternativeName)
    if san is not None:
        out["subjectAltName"] = tuple(_general_name(name) for name in san)
    access = _extension(extensions, x509.AuthorityInformationAccess)
    if access is not None:
        for oid, key in ((AuthorityInformationAccessOID.OCSP, "OCSP"),
                         (AuthorityInformationAccessOID.CA_ISSUERS, "caIssuers")):
            uris = tuple(d.access_location.value for d in access if d.access_method == oid
                         and isinstance(d.access_location, x509.UniformResourceIdentifier))
            if uris:
                out[key] = uris
    points = _extension(extensions, x509.CRLDistributionPoints)
    if points is not None:
        uris = tuple(name.value for point in points for name in (point.full_name or ())
                     if isinstance(name, x509.UniformResourceIdentifier))
        if uris:
            out["crlDistributionPoints"] = uris
    return out


def _extension(extensions, kind):
    try:
        return extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _name(name: x509.Name) -> tuple:
    return tuple(tuple((_attribute_name(a.oid), _text(a.value)) for a in rdn)
                 for rdn in name.rdns)


def _attribute_name(oid: x509.ObjectIdentifier) -> str:
    return _ATTRIBUTE_NAMES.get(oid.dotted_string, oid.dotted_string)


def _text(value) -> str:
    return value if isinstance(value, str) else bytes(value).decode("latin-1")


def _serial(number: int) -> str:
    """Upper-case hex, two digits a byte, as OpenSSL's i2a_ASN1_INTEGER writes it."""
    sign, number = ("-", -number) if number < 0 else ("", number)
    digits = "%X" % number
    return sign + ("0" + digits if len(digits) % 2 else digits)


def _time(moment) -> str:
    """``Jan  5 09:04:03 2024 GMT``, as OpenSSL's ASN1_TIME_print writes it."""
    return "%s %2d %02d:%02d:%02d %d GMT" % (_MONTHS[moment.month - 1], moment.day, moment.hour,
                                              moment.minute, moment.second, moment.year)


def _general_name(name) -> tuple:
    if isinstance(name, x509.DNSName):
        return ("DNS", name.value)
    if isinstance(name, x509.IPAddress):
        return ("IP Address", _ip(name.value))
    if isinstance(name, x509.RFC822Name):
        return ("email", name.value)
    if isinstance(name, x509.UniformResourceIdentifier):
        return ("URI", name.value)
    if isinstance(name, x509.RegisteredID):
        return ("Registered ID", name.value.dotted_string)
    if isinstance(name, x509.DirectoryName):
        return ("DirName", _name(name.value))
    return ("othername", "<unsupported>")


def _ip(address) -> str:
    """IPv4 dotted; IPv6 as eight upper-case hex groups, uncompressed, as ssl prints them."""
    if isinstance(address, ipaddress.IPv6Address):
        packed = address.packed
        return ":".join("%X" % int.from_bytes(packed[i:i + 2], "big") for i in range(0, 16, 2))
    return str(address)
