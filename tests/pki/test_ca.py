"""CertificateAuthority: what the certificates it makes say (RFC 5280 section 4)."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.errors import CAError
from engine.pki import KEY_TYPES, CertificateAuthority, generate_private_key, key_type_of

UTC = datetime.timezone.utc


def ext(certificate, cls):
    return certificate.extensions.get_extension_for_class(cls)


def test_key_types_are_the_documented_six_with_p256_first():
    assert KEY_TYPES == ("p256", "p384", "ed25519", "rsa2048", "rsa3072", "rsa4096")


@pytest.mark.parametrize("key_type", ["p256", "p384", "ed25519", "rsa2048"])
def test_generate_private_key_makes_the_named_type(key_type):
    assert key_type_of(generate_private_key(key_type)) == key_type


def test_unknown_key_type_is_refused():
    with pytest.raises(CAError, match="unknown key type"):
        CertificateAuthority.create_root("X", key_type="dsa1024")


def test_root_is_self_signed_ca_with_critical_constraints_and_usage(root):
    cert = root.certificate
    assert cert.subject == cert.issuer
    assert cert.version == x509.Version.v3
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length is None
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert root.parent is None and root.chain == [cert]
    cert.verify_directly_issued_by(cert)


def test_intermediate_has_path_length_and_key_identifiers(root, intermediate):
    cert = intermediate.certificate
    assert ext(cert, x509.BasicConstraints).value.path_length == 0
    aki = ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == ext(root.certificate, x509.SubjectKeyIdentifier).value.digest
    assert intermediate.parent is root
    assert intermediate.chain == [cert, root.certificate]
    cert.verify_directly_issued_by(root.certificate)


def test_server_certificate_puts_ip_strings_in_ip_address_entries(intermediate):
    leaf = intermediate.issue_server(["localhost", "127.0.0.1", "::1"])
    san = ext(leaf.certificate, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    cn = leaf.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "localhost"
    assert ext(leaf.certificate, x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH])
    assert ext(leaf.certificate, x509.BasicConstraints).value.ca is False


def test_server_chain_runs_from_leaf_up_to_but_not_including_root(root, intermediate):
    leaf = intermediate.issue_server("example.test")
    assert leaf.chain == [leaf.certificate, intermediate.certificate]
    assert leaf.keystore().chain == [intermediate.certificate]
    leaf.certificate.verify_directly_issued_by(intermediate.certificate)


def test_rsa_server_key_usage_adds_key_encipherment(root):
    leaf = root.issue_server(["rsa.test"], key_type="rsa2048")
    usage = ext(leaf.certificate, x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment
    assert isinstance(leaf.private_key, rsa.RSAPrivateKey)


def test_ec_server_key_usage_is_digital_signature_only(root):
    usage = ext(root.issue_server(["ec.test"]).certificate, x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment


def test_client_certificate_has_client_auth_and_common_name(intermediate):
    leaf = intermediate.issue_client("alice", key_type="ed25519")
    cert = leaf.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert ext(cert, x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH])
    assert isinstance(leaf.private_key, ed25519.Ed25519PrivateKey)


def test_serials_are_positive_and_at_most_128_bits(root):
    serials = {root.issue_client("s%d" % i).certificate.serial_number for i in range(20)}
    assert len(serials) == 20
    assert all(0 < s < 1 << 128 for s in serials)


def test_p384_ca_signs_with_sha384():
    ca = CertificateAuthority.create_root("P-384 Root", key_type="p384")
    leaf = ca.issue_server(["a.test"])
    assert isinstance(leaf.certificate.signature_hash_algorithm, type(ca.certificate.signature_hash_algorithm))
    assert leaf.certificate.signature_hash_algorithm.name == "sha384"
    assert isinstance(ca.private_key.curve, ec.SECP384R1)


def test_explicit_validity_window_is_used_exactly(root):
    start = datetime.datetime(2020, 1, 1, tzinfo=UTC)
    end = datetime.datetime(2021, 1, 1, tzinfo=UTC)
    cert = root.issue_server(["old.test"], not_before=start, not_after=end).certificate
    assert cert.not_valid_before_utc == start and cert.not_valid_after_utc == end


def test_default_validity_starts_slightly_in_the_past(root):
    cert = root.issue_client("bob", validity_days=10).certificate
    now = datetime.datetime.now(UTC)
    assert cert.not_valid_before_utc < now
    assert datetime.timedelta(days=9) < cert.not_valid_after_utc - now <= datetime.timedelta(days=10)


def test_window_ending_before_it_starts_is_refused(root):
    start = datetime.datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(CAError, match="later than"):
        root.issue_client("x", not_before=start, not_after=start)


def test_server_certificate_needs_a_name(root):
    with pytest.raises(CAError):
        root.issue_server([])


def test_revoked_serial_appears_on_next_crl_with_reason(intermediate):
    leaf = intermediate.issue_server(["gone.test"])
    intermediate.revoke(leaf.serial_number, reason=x509.ReasonFlags.superseded)
    crl = intermediate.crl()
    entry = crl.lookup(leaf.serial_number)
    assert entry is not None and entry.reason == x509.ReasonFlags.superseded
    crl.check(intermediate.certificate)


def test_crl_number_increases_with_each_crl(root):
    first, second = root.crl(), root.crl()
    assert second.crl_number == first.crl_number + 1


def test_revoking_twice_is_refused(root):
    leaf = root.issue_client("twice")
    root.revoke(leaf.serial_number)
    with pytest.raises(CAError, match="already revoked"):
        root.revoke(leaf.serial_number)


def test_internationalised_names_go_in_as_a_labels(root):
    san = ext(root.issue_server(["Bücher.example"]).certificate, x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["xn--bcher-kva.example"]


def test_wildcard_names_are_kept(root):
    san = ext(root.issue_server(["*.svc.test"]).certificate, x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["*.svc.test"]


@pytest.mark.parametrize("bad", ["a..b", "-x.test", "two words", "a.*.b", "", "x\x00y"])
def test_names_that_are_neither_host_nor_address_are_refused(root, bad):
    with pytest.raises(CAError):
        root.issue_server([bad])


def test_name_too_long_for_a_common_name_leaves_subject_empty_and_san_critical(root):
    long_name = ".".join(["label%02d" % i for i in range(12)]) + ".test"
    cert = root.issue_server([long_name]).certificate
    assert len(cert.subject) == 0
    san = ext(cert, x509.SubjectAlternativeName)
    assert san.critical and san.value.get_values_for_type(x509.DNSName) == [long_name]


def test_explicit_common_name_overrides_the_first_name(root):
    cert = root.issue_server(["a.test"], common_name="Service A").certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Service A"


def test_a_given_private_key_is_certified(root):
    key = generate_private_key("p384")
    leaf = root.issue_client("keyed", private_key=key)
    assert leaf.private_key is key
    assert leaf.certificate.public_key().public_numbers() == key.public_key().public_numbers()


def test_ca_needs_a_ca_certificate_and_its_own_key(root):
    leaf = root.issue_client("not a ca")
    with pytest.raises(CAError, match="not a CA certificate"):
        CertificateAuthority(leaf.private_key, leaf.certificate)
    with pytest.raises(CAError, match="does not match"):
        CertificateAuthority(leaf.private_key, root.certificate)


@pytest.mark.parametrize("days", [0, -1, "ten", None, float("inf")])
def test_bad_validity_days_are_refused(root, days):
    with pytest.raises(CAError):
        root.issue_client("x", validity_days=days)


def test_naive_datetimes_are_refused(root):
    with pytest.raises(CAError, match="timezone-aware"):
        root.issue_client("x", not_before=datetime.datetime(2020, 1, 1))


def test_generate_private_key_refuses_unknown_names():
    with pytest.raises(CAError, match="unknown key type"):
        generate_private_key("rsa1024")
