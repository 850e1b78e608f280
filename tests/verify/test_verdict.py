"""Verdict as a value: its path given as certificates or as DER, parsed when first read."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from engine.verify import Verdict, verify_chains
from engine.verify.verdict import accepted, rejected
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.verify_factory import NOW, make_chain


@pytest.fixture(scope="module")
def chain():
    return make_chain(2)


def _path(chain) -> tuple[x509.Certificate, ...]:
    return (*chain.presented, chain.root.certificate)


def _der(certificates) -> tuple[bytes, ...]:
    return tuple(c.public_bytes(Encoding.DER) for c in certificates)


def test_a_path_given_as_der_reads_back_as_certificates(chain):
    verdict = accepted(_der(_path(chain)))
    assert all(isinstance(c, x509.Certificate) for c in verdict.chain)
    assert verdict.chain == _path(chain)


def test_a_path_is_parsed_once_and_then_kept(chain):
    verdict = accepted(_der(_path(chain)))
    assert verdict.chain is verdict.chain


def test_a_path_may_mix_certificates_and_der(chain):
    path = _path(chain)
    mixed = (path[0], *_der(path[1:]))
    assert accepted(mixed).chain == path


def test_verdicts_compare_equal_whichever_form_their_path_was_given_in(chain):
    as_der, as_objects = accepted(_der(_path(chain))), accepted(_path(chain))
    assert as_der == as_objects
    assert hash(as_der) == hash(as_objects)
    assert repr(as_der) == repr(as_objects)


def test_verdicts_with_different_paths_differ(chain):
    path = _path(chain)
    assert accepted(path) != accepted(path[:-1])
    assert accepted(path) != rejected("untrusted", "the chain is valid", None, path)


def test_an_unreadable_encoding_is_left_out_of_the_chain(chain):
    leaf = chain.presented[0]
    verdict = rejected("malformed", "unreadable", 1, (leaf, b"\x30\x03\x02\x01\x00"))
    assert verdict.chain == (leaf,)


def test_a_verdict_cannot_be_changed(chain):
    verdict = accepted(_der(_path(chain)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.ok = False
    with pytest.raises(dataclasses.FrozenInstanceError):
        del verdict.reason


def test_a_verdict_survives_pickling_and_copying(chain):
    verdict = rejected("revoked", "the leaf is revoked", 0, _der(_path(chain)))
    for again in (pickle.loads(pickle.dumps(verdict)), copy.copy(verdict), copy.deepcopy(verdict)):
        assert again == verdict and again.chain == _path(chain)


def test_construction_keeps_its_rules():
    with pytest.raises(ValueError):
        Verdict(True, "expired", "", None, ())
    with pytest.raises(ValueError):
        Verdict(False, "no such reason", "", None, ())
    assert not Verdict(False, "expired", "", 0, chain=())


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_verified_chains_read_back_as_the_built_path(chain, backend):
    verdict, = verify_chains([chain.presented], [chain.root.certificate], at=NOW,
                             backend=backend)
    assert verdict.ok and verdict.chain == _path(chain)


@pytest.mark.skipif("native" not in VERIFY_BACKENDS, reason="the native extension is not built")
def test_the_native_backend_parses_a_path_only_when_it_is_read(chain, monkeypatch):
    from engine.verify import inputs

    parsed = []
    real = inputs.certificate
    monkeypatch.setattr(inputs, "certificate", lambda der: parsed.append(der) or real(der))
    verdict, = verify_chains([_der(chain.presented)], [chain.root.certificate], at=NOW,
                             backend="native")
    presented = set(_der(chain.presented))
    ok, before = verdict.ok, presented & set(parsed)
    assert ok and not before
    assert verdict.chain == _path(chain)
    assert presented <= set(parsed)
