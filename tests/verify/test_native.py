"""The native verifier's own behaviour: threads, caches kept across calls, batch sharing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.verify import verify_chains
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.verify_factory import DAY, NOW, make_chain, make_crl, make_leaf, make_root

pytestmark = pytest.mark.skipif("native" not in VERIFY_BACKENDS,
                                reason="the native extension with its verifier is not built")


@pytest.fixture(scope="module")
def batch():
    """Forty chains under one intermediate: valid, expired, revoked and misnamed ones."""
    chain = make_chain(2)
    leaves, names, expected = [], [], []
    for i in range(40):
        kind = i % 4
        kw = dict(not_before=NOW - 9 * DAY, not_after=NOW - DAY) if kind == 1 else {}
        leaf = make_leaf("host-%d" % i, chain.issuer, **kw)
        leaves.append(leaf)
        names.append("wrong.example.org" if kind == 3 else "host-%d.example.com" % i)
        expected.append([None, "expired", "revoked", "name_mismatch"][kind])
    crls = [make_crl(chain.issuer, [leaves[i] for i in range(2, 40, 4)]), make_crl(chain.root)]
    chains = [[leaf.certificate, chain.issuer.certificate] for leaf in leaves]
    return chain, chains, names, crls, expected


@pytest.mark.parametrize("threads", [1, 2, 7, 64])
def test_any_number_of_threads_gives_the_same_verdicts(batch, threads):
    chain, chains, names, crls, expected = batch
    verdicts = verify_chains(chains, [chain.root.certificate], crls=crls, at=NOW, names=names,
                             threads=threads, backend="native")
    assert [v.reason for v in verdicts] == expected


def test_the_native_verdicts_match_the_python_ones_on_a_mixed_batch(batch):
    chain, chains, names, crls, _ = batch
    native, python = (
        verify_chains(chains, [chain.root.certificate], crls=crls, at=NOW, names=names,
                      backend=b) for b in ("native", "python"))
    assert [(v.reason, v.depth) for v in native] == [(v.reason, v.depth) for v in python]
    assert [v.chain for v in native] == [v.chain for v in python]


def test_the_store_for_a_trust_and_crl_set_is_built_once(batch):
    from engine.verify import _native as native_verifier, inputs

    chain, chains, names, crls, _ = batch
    verify_chains(chains[:2], [chain.root.certificate], crls=crls, at=NOW, backend="native")
    anchors = inputs.trust_ders([chain.root.certificate])
    crl_set = inputs.crl_ders(crls)
    first = native_verifier.prepare(anchors, crl_set)
    verify_chains(chains[2:4], [chain.root.certificate], crls=crls, at=NOW, backend="native")
    assert native_verifier.prepare(anchors, crl_set) is first


def test_parsed_certificates_are_kept_for_later_calls(batch):
    from engine.verify import _native as native_verifier

    chain, chains, names, crls, _ = batch
    verify_chains(chains[:3], [chain.root.certificate], at=NOW, backend="native")
    ders = [c.public_bytes(Encoding.DER) for c in chains[0]]
    handles = native_verifier.handles(ders)
    assert all(h is not None for h in handles)
    assert native_verifier.handles(ders) == handles


def test_repeated_batches_are_stable(batch):
    chain, chains, names, crls, expected = batch
    for _ in range(5):
        verdicts = verify_chains(chains, [chain.root.certificate], crls=crls, at=NOW,
                                 names=names, threads=3, backend="native")
        assert [v.reason for v in verdicts] == expected


def test_a_batch_larger_than_the_handle_cache_still_verifies(monkeypatch):
    from engine.verify import _native as native_verifier
    from engine.verify.cache import BoundedCache

    monkeypatch.setattr(native_verifier, "_handles", BoundedCache(3))
    chain = make_chain(2)
    leaves = [make_leaf("evicted-%d" % i, chain.issuer) for i in range(10)]
    chains = [[leaf.certificate, chain.issuer.certificate] for leaf in leaves]
    verdicts = verify_chains(chains, [chain.root.certificate], at=NOW, threads=2,
                             backend="native")
    assert all(v.ok for v in verdicts)


def test_an_unusable_name_is_a_name_mismatch():
    chain = make_chain(2)
    verdict = verify_chains([chain.presented], [chain.root.certificate], at=NOW,
                            names=["bad\x00name.example"], backend="native")[0]
    assert verdict.reason == "name_mismatch"


def _memo_counts():
    from engine._backend import native

    ffi, lib = native()
    hits, misses = ffi.new("unsigned long long *"), ffi.new("unsigned long long *")
    lib.engine_verify_memo_stats(hits, misses)
    return hits[0], misses[0]


def _clear_memo():
    from engine._backend import native

    native()[1].engine_verify_memo_clear()


def test_a_signature_verified_by_one_call_is_not_verified_again_by_the_next():
    chain = make_chain(2)
    _clear_memo()
    first = verify_chains([chain.presented], [chain.root.certificate], names=[chain.name],
                          at=NOW, backend="native")
    after_first = _memo_counts()
    second = verify_chains([chain.presented], [chain.root.certificate], names=[chain.name],
                           at=NOW, backend="native")
    after_second = _memo_counts()
    assert first[0].ok and second[0].ok
    assert after_first == (0, 2)  # leaf and intermediate, verified
    assert after_second == (2, 2)  # both remembered


def test_a_remembered_signature_does_not_vouch_for_another_key_of_the_same_name():
    genuine = make_root("Same Name Root")
    impostor = make_root("Same Name Root")
    leaf = make_leaf("leaf", genuine)
    presented = [leaf.certificate]
    assert verify_chains([presented], [genuine.certificate], at=NOW, backend="native")[0].ok
    native = verify_chains([presented], [impostor.certificate], at=NOW, backend="native")[0]
    python = verify_chains([presented], [impostor.certificate], at=NOW, backend="python")[0]
    assert not native.ok
    assert (native.reason, native.depth) == (python.reason, python.depth)


def test_a_remembered_signature_still_gets_its_validity_period_checked():
    chain = make_chain(1)
    trust = [chain.root.certificate]
    assert verify_chains([chain.presented], trust, at=NOW, backend="native")[0].ok
    later = verify_chains([chain.presented], trust, at=NOW + 4000 * DAY, backend="native")[0]
    assert later.reason == "expired"


def test_a_remembered_signature_still_gets_its_revocation_checked():
    chain = make_chain(2)
    trust = [chain.root.certificate]
    clean = [make_crl(chain.issuer), make_crl(chain.root)]
    revoked = [make_crl(chain.issuer, [chain.leaf]), make_crl(chain.root)]
    assert verify_chains([chain.presented], trust, crls=clean, at=NOW, backend="native")[0].ok
    verdict = verify_chains([chain.presented], trust, crls=revoked, at=NOW, backend="native")[0]
    assert (verdict.reason, verdict.depth) == ("revoked", 0)


def test_a_forged_signature_stays_refused_when_asked_again():
    root = make_root("Forgery Root")
    forged = make_leaf("forged", root, corrupt_signature=True)
    for _ in range(2):
        verdict = verify_chains([[forged.certificate]], [root.certificate], at=NOW,
                                backend="native")[0]
        assert (verdict.reason, verdict.depth) == ("bad_signature", 0)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_verifies_with_the_memo_it_inherited():
    import os

    chain = make_chain(2)
    trust = [chain.root.certificate]
    assert verify_chains([chain.presented], trust, names=[chain.name], at=NOW,
                         backend="native")[0].ok
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        verdict = verify_chains([chain.presented], trust, names=[chain.name], at=NOW,
                                backend="native")[0]
        os._exit(0 if verdict.ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_every_project_code_of_the_extension_has_a_reason():
    from engine import _backend
    from engine.verify import reasons

    _, lib = _backend.native()
    names = {name[len("ENGINE_VERIFY_"):] for name in dir(lib)
             if name.startswith("ENGINE_VERIFY_")}
    not_results = {"OPENSSL_SIGNATURES", "OPENSSL_CRLS", "NO_SIGNATURE_MEMO", "PATH_UNKNOWN"}
    assert names - not_results == set(reasons.PROJECT)
    codes = [getattr(lib, "ENGINE_VERIFY_" + name) for name in reasons.PROJECT]
    assert len(set(codes)) == len(codes) and min(codes) > 999  # beside OpenSSL's X509_V_ERR_*
