"""verify_chains as callers see it: inputs in every accepted form, argument checking, batches."""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import engine
from engine.errors import BackendError, CRLError, TrustStoreError
from engine.verify import REASONS, Verdict, verify_chains
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.verify_factory import DAY, NOW, make_chain, make_crl, make_leaf, make_root


@pytest.fixture(scope="module")
def chain():
    return make_chain(2)


def _pem(certificates) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certificates)


def _der(certificates) -> list[bytes]:
    return [c.public_bytes(Encoding.DER) for c in certificates]


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_chains_given_as_der_pem_and_objects_get_the_same_verdict(chain, backend):
    forms = [
        chain.presented,
        _der(chain.presented),
        [c.public_bytes(Encoding.PEM) for c in chain.presented],
        _pem(chain.presented),
        _pem(chain.presented).decode(),
    ]
    verdicts = verify_chains(forms, [chain.root.certificate], at=NOW, backend=backend)
    assert [v.ok for v in verdicts] == [True] * len(forms)
    assert len({v.chain for v in verdicts}) == 1


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_the_built_chain_runs_from_the_leaf_to_the_trust_anchor(chain, backend):
    verdict = verify_chains([chain.presented], [chain.root.certificate], at=NOW,
                            backend=backend)[0]
    assert verdict.chain == (chain.leaf.certificate, chain.intermediates[0].certificate,
                             chain.root.certificate)
    assert (verdict.reason, verdict.depth) == (None, None)


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_verdicts_come_back_in_the_order_of_the_chains(chain, backend):
    other = make_chain(2, root=make_root("Unrelated Root"))
    expired = make_chain(2, leaf_kw=dict(not_before=NOW - 9 * DAY, not_after=NOW - DAY),
                         root=chain.root)
    chains = [chain.presented, other.presented, expired.presented, chain.presented]
    verdicts = verify_chains(chains, [chain.root.certificate], at=NOW, backend=backend)
    assert [v.reason for v in verdicts] == [None, "untrusted", "expired", None]


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_identical_chains_with_different_names_are_judged_separately(chain, backend):
    verdicts = verify_chains([chain.presented] * 2, [chain.root.certificate], at=NOW,
                             names=[chain.name, "other.example.com"], backend=backend)
    assert [v.reason for v in verdicts] == [None, "name_mismatch"]


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_trust_store_and_revocation_lists_from_engine_pki_are_accepted(backend):
    from engine.pki import CertificateAuthority, TrustStore

    root = CertificateAuthority.create_root("API Root")
    issuing = root.create_intermediate("API Issuing")
    good = issuing.issue_server(["good.example"])
    bad = issuing.issue_server(["bad.example"])
    issuing.revoke(bad.certificate.serial_number)
    crls = [issuing.crl(), root.crl()]
    verdicts = verify_chains([good.chain, bad.chain], TrustStore([root.certificate]), crls=crls,
                             names=["good.example", "bad.example"], backend=backend)
    assert [v.reason for v in verdicts] == [None, "revoked"]
    assert verdicts[1].depth == 0
    assert "key_compromise" in verdicts[1].detail


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_client_certificate_from_engine_pki_passes_as_a_client(backend):
    from engine.pki import CertificateAuthority

    root = CertificateAuthority.create_root("API Client Root")
    alice = root.issue_client("alice")
    client, server = (verify_chains([alice.chain], [root.certificate], purpose=p,
                                    backend=backend)[0] for p in ("client", "server"))
    assert client.ok
    assert not server.ok


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_crls_are_accepted_as_pem_der_and_objects(backend):
    chain = make_chain(2)
    crls = [make_crl(chain.issuer, [chain.leaf]), make_crl(chain.root)]
    forms = [crls, [c.public_bytes(Encoding.PEM) for c in crls],
             [c.public_bytes(Encoding.DER) for c in crls],
             b"".join(c.public_bytes(Encoding.PEM) for c in crls)]
    for form in forms:
        verdict = verify_chains([chain.presented], [chain.root.certificate], crls=form, at=NOW,
                                backend=backend)[0]
        assert verdict.reason == "revoked"


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_an_unreadable_certificate_in_a_chain_is_a_malformed_verdict_not_an_error(chain,
                                                                                  backend):
    chains = [[b"\x30\x03\x02\x01\x00"], [b"not a certificate at all"], [], chain.presented]
    verdicts = verify_chains(chains, [chain.root.certificate], at=NOW, backend=backend)
    assert [v.reason for v in verdicts] == ["malformed", "malformed", "malformed", None]


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_an_empty_batch_gives_no_verdicts(chain, backend):
    assert verify_chains([], [chain.root.certificate], backend=backend) == []


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_naive_time_is_taken_as_utc(chain, backend):
    naive = NOW.replace(tzinfo=None)
    later = (NOW + 400 * DAY).replace(tzinfo=None)
    verdicts = [verify_chains([chain.presented], [chain.root.certificate], at=when,
                              backend=backend)[0] for when in (naive, later)]
    assert [v.reason for v in verdicts] == [None, "expired"]


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_an_empty_trust_store_trusts_nothing(chain, backend):
    verdict = verify_chains([chain.presented], [], at=NOW, backend=backend)[0]
    assert verdict.reason == "untrusted"


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_of_several_certificates_out_of_date_the_one_nearest_the_root_is_named(chain, backend):
    verdict = verify_chains([chain.presented], [chain.root.certificate],
                            at=NOW - 60 * DAY, backend=backend)[0]
    assert (verdict.reason, verdict.depth) == ("not_yet_valid", 2)


def test_unreadable_trust_anchors_raise_a_trust_store_error(chain):
    with pytest.raises(TrustStoreError):
        verify_chains([chain.presented], [b"garbage"], backend="python")


def test_an_unreadable_crl_raises_a_crl_error(chain):
    with pytest.raises(CRLError):
        verify_chains([chain.presented], [chain.root.certificate], crls=[b"garbage"],
                      backend="python")


@pytest.mark.parametrize("arguments", [
    dict(purpose="peer"),
    dict(names=["a.example", "b.example"]),
    dict(names="a.example"),
    dict(names=[b"a.example"]),
    dict(max_depth=-1),
    dict(threads=0),
])
def test_bad_arguments_raise_value_errors(chain, arguments):
    with pytest.raises(ValueError):
        verify_chains([chain.presented], [chain.root.certificate], backend="python", **arguments)


def test_an_unknown_backend_is_refused(chain):
    with pytest.raises(BackendError):
        verify_chains([chain.presented], [chain.root.certificate], backend="fastest")


def test_a_verdict_is_ok_exactly_when_it_has_no_reason():
    with pytest.raises(ValueError):
        Verdict(True, "expired", "", None, ())
    with pytest.raises(ValueError):
        Verdict(False, None, "", None, ())
    with pytest.raises(ValueError):
        Verdict(False, "sunburnt", "", None, ())
    assert bool(Verdict(True, None, "fine", None, ())) is True


def test_the_reasons_are_the_documented_twelve():
    assert REASONS == ("expired", "not_yet_valid", "untrusted", "bad_signature", "revoked",
                       "crl_invalid", "name_mismatch", "bad_usage", "path_too_long",
                       "invalid_ca", "malformed", "unsupported")


def test_the_package_exports_verify_chains_lazily():
    assert engine.verify_chains is verify_chains
    assert engine.Verdict is Verdict


def test_the_python_backend_is_chosen_through_the_environment(chain, monkeypatch):
    monkeypatch.setenv("ENGINE_BACKEND", "python")
    verdict = verify_chains([chain.presented], [chain.root.certificate], at=NOW)[0]
    assert verdict.ok


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_leaf_issued_by_the_trust_anchor_itself_verifies(backend):
    chain = make_chain(1)
    verdict = verify_chains([chain.presented], [chain.root.certificate], at=NOW,
                            backend=backend)[0]
    assert verdict.ok and len(verdict.chain) == 2


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_leaf_presented_without_its_intermediate_is_untrusted(backend):
    chain = make_chain(2)
    verdict = verify_chains([[chain.leaf.certificate]], [chain.root.certificate], at=NOW,
                            backend=backend)[0]
    assert (verdict.reason, verdict.depth) == ("untrusted", 0)


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_verification_time_defaults_to_now(backend):
    chain = make_chain(2)
    late = make_leaf("late", chain.issuer,
                     not_before=datetime.datetime.now(datetime.timezone.utc) - DAY,
                     not_after=datetime.datetime.now(datetime.timezone.utc) - 1 * DAY / 2)
    verdict = verify_chains([[late.certificate, chain.issuer.certificate]],
                            [chain.root.certificate], backend=backend)[0]
    assert verdict.reason == "expired"


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_trust_store_that_gains_an_anchor_is_read_again(backend):
    from engine.pki import TrustStore

    first, second = make_chain(1), make_chain(1)
    store = TrustStore([first.root.certificate])
    assert verify_chains([second.presented], store, at=NOW, backend=backend)[0].reason == "untrusted"
    store.add(second.root.certificate)
    assert verify_chains([second.presented], store, at=NOW, backend=backend)[0].ok


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_list_of_anchors_changed_in_place_is_read_again(backend):
    first, second = make_chain(1), make_chain(1)
    anchors = [first.root.certificate]
    assert verify_chains([first.presented], anchors, at=NOW, backend=backend)[0].ok
    anchors[0] = second.root.certificate
    verdict = verify_chains([first.presented], anchors, at=NOW, backend=backend)[0]
    assert verdict.reason == "untrusted"
    assert verify_chains([second.presented], anchors, at=NOW, backend=backend)[0].ok


def test_both_verifier_backends_take_the_same_arguments():
    import inspect

    from engine.verify import _native, _python
    from engine.verify._interface import VerifierBackend

    def parameters(function):
        return [(p.name, p.kind, p.default)
                for p in inspect.signature(function).parameters.values()]

    assert parameters(_native.verify) == parameters(_python.verify)
    assert parameters(_native.prepare) == parameters(_python.prepare)
    assert (_native.NAME, _python.NAME) == ("native", "python")
    assert isinstance(_native, VerifierBackend) and isinstance(_python, VerifierBackend)
