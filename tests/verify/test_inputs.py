"""verify_chains on bad input: a verdict for a bad chain, a typed error for a bad argument,
and the same answer from both backends."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import CRLError, TrustStoreError
from engine.pki import TrustStore
from engine.verify import verify_chains


def one(chain, trust, backend, **options):
    return verify_chains([chain], trust, backend=backend, **options)[0]


@pytest.mark.parametrize("chain", [
    [], [b""], [b"garbage"], ["not a certificate"], [None], [5],
    [b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
])
def test_an_unreadable_chain_is_malformed(small_pki, backend, chain):
    verdict = one(chain, small_pki.trust, backend)
    assert (verdict.ok, verdict.reason) == (False, "malformed")


def test_an_unreadable_intermediate_is_malformed(small_pki, backend):
    verdict = one([small_pki.chain[0], b"junk"], small_pki.trust, backend)
    assert (verdict.ok, verdict.reason) == (False, "malformed")


@pytest.mark.parametrize("name", [
    "", "localhost.", " localhost", "local host", "local\x00host", "*.localhost", "a..b",
    "-a.localhost", "lökalhost", "::zz", "fe80::1%eth0", "a" * 300,
])
def test_a_name_that_is_neither_dns_nor_ip_matches_nothing(small_pki, backend, name):
    verdict = one(small_pki.chain, small_pki.trust, backend, names=[name])
    assert (verdict.ok, verdict.reason) == (False, "name_mismatch")


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST", "127.0.0.1"])
def test_usable_names_still_match(small_pki, backend, name):
    assert one(small_pki.chain, small_pki.trust, backend, names=[name]).ok


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=40))
def test_both_backends_agree_on_any_name(small_pki, name):
    verdicts = [one(small_pki.chain, small_pki.trust, b, names=[name]) for b in ("native", "python")
                if b == "python" or _has_native()]
    assert len({(v.ok, v.reason) for v in verdicts}) == 1, (name, verdicts)


def _has_native() -> bool:
    from engine import _backend

    try:
        _backend.native()
    except Exception:
        return False
    return True


@pytest.mark.parametrize("names, message", [
    ([], "0 entries for 1 chains"), (["a", "b"], "2 entries"), ([5], "str or None"),
    ([b"localhost"], "str or None"), ("localhost", "not a single string"),
])
def test_a_wrong_names_argument_is_a_value_error(small_pki, backend, names, message):
    with pytest.raises(ValueError, match=message):
        verify_chains([small_pki.chain], small_pki.trust, names=names, backend=backend)


@pytest.mark.parametrize("at", ["2024-01-01", 0, datetime.date(2024, 1, 1)])
def test_a_time_that_is_not_a_datetime_is_a_type_error(small_pki, backend, at):
    with pytest.raises(TypeError, match="datetime"):
        one(small_pki.chain, small_pki.trust, backend, at=at)


def test_a_naive_time_means_utc_and_no_time_means_now(small_pki, backend):
    assert one(small_pki.chain, small_pki.trust, backend, at=None).ok
    after = small_pki.server.certificate.not_valid_after_utc + datetime.timedelta(seconds=1)
    naive = one(small_pki.chain, small_pki.trust, backend, at=after.replace(tzinfo=None))
    aware = one(small_pki.chain, small_pki.trust, backend, at=after)
    assert (naive.ok, naive.reason) == (aware.ok, aware.reason) == (False, "expired")


def test_an_empty_trust_store_trusts_nothing(small_pki, backend):
    for trust in ([], TrustStore([])):
        verdict = one(small_pki.chain, trust, backend)
        assert (verdict.ok, verdict.reason) == (False, "untrusted")


@pytest.mark.parametrize("trust", [None, "abc", [b"junk"]])
def test_unreadable_trust_is_a_trust_store_error(small_pki, backend, trust):
    if isinstance(trust, list):
        trust = [small_pki.root.certificate] + trust
    with pytest.raises(TrustStoreError):
        one(small_pki.chain, trust, backend)


@pytest.mark.parametrize("crl", [b"junk", 5, "-----BEGIN X509 CRL-----\nAA\n-----END X509 CRL-----"])
def test_unreadable_crls_are_a_crl_error(small_pki, backend, crl):
    with pytest.raises(CRLError):
        one(small_pki.chain, small_pki.trust, backend, crls=[small_pki.root.crl(), crl])


def test_no_chains_give_no_verdicts(small_pki, backend):
    assert verify_chains([], small_pki.trust, backend=backend) == []


@pytest.fixture(scope="module")
def odd_leaves(small_pki):
    from cryptography.hazmat.primitives.serialization import Encoding

    def chain(names):
        leaf = small_pki.issuer.issue_server(names).certificate
        return [leaf.public_bytes(Encoding.DER), small_pki.chain[1]]

    return {"underscore": chain(["localhost", "_srv.localhost"]),
            "wildcard": chain(["*.example.com"])}


@pytest.mark.parametrize("name", [None, "localhost"])
def test_a_leaf_with_a_dns_name_outside_preferred_syntax_is_malformed(small_pki, odd_leaves,
                                                                     backend, name):
    verdict = one(odd_leaves["underscore"], small_pki.trust, backend, names=[name])
    assert (verdict.ok, verdict.reason) == (False, "malformed")


def test_a_name_the_leaf_lacks_is_a_mismatch_before_its_bad_dns_name(small_pki, odd_leaves,
                                                                    backend):
    verdict = one(odd_leaves["underscore"], small_pki.trust, backend, names=["other.localhost"])
    assert (verdict.ok, verdict.reason) == (False, "name_mismatch")


def test_a_wildcard_does_not_match_a_label_with_an_underscore(small_pki, odd_leaves, backend):
    verdict = one(odd_leaves["wildcard"], small_pki.trust, backend, names=["_x.example.com"])
    assert (verdict.ok, verdict.reason) == (False, "name_mismatch")
    assert one(odd_leaves["wildcard"], small_pki.trust, backend, names=["x.example.com"]).ok


@settings(max_examples=60, deadline=None)
@given(name=st.from_regex(r"[a-z_*-]{0,4}(\.[a-z_-]{0,4}){0,2}\.example\.com", fullmatch=True))
def test_both_backends_agree_on_names_near_a_wildcard(small_pki, odd_leaves, name):
    if not _has_native():
        pytest.skip("the native extension is not built")
    verdicts = [one(odd_leaves["wildcard"], small_pki.trust, b, names=[name])
                for b in ("native", "python")]
    assert len({(v.ok, v.reason) for v in verdicts}) == 1, (name, verdicts)
