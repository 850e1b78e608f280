"""Properties over many presentations of one hierarchy: the order and the company in which
intermediates arrive change neither the verdict nor the agreement between the backends."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.verify import verify_chains
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.verify_factory import DAY, NOW, make_intermediate, make_leaf, make_root, new_key


@pytest.fixture(scope="module")
def hierarchy():
    """root -> upper -> lower -> leaf, plus distractors: an expired twin of `lower` (same
    subject and key), a cross-certificate of `upper` from an untrusted root, and an
    unrelated intermediate."""
    root = make_root("Root Props")
    stranger = make_root("Stranger Props")
    upper_key, lower_key = new_key(), new_key()
    upper = make_intermediate("Upper Props", root, key=upper_key)
    lower = make_intermediate("Lower Props", upper, key=lower_key)
    leaf = make_leaf("leaf-props", lower)
    distractors = {
        "expired-twin": make_intermediate("Lower Props", upper, key=lower_key,
                                          not_before=NOW - 30 * DAY, not_after=NOW - DAY),
        "cross": make_intermediate("Upper Props", stranger, key=upper_key),
        "unrelated": make_intermediate("Unrelated Props", stranger),
    }
    return root, leaf, {"upper": upper, "lower": lower, **distractors}


NAMES = ("upper", "lower", "expired-twin", "cross", "unrelated")


@settings(max_examples=60, deadline=None)
@given(chosen=st.lists(st.sampled_from(NAMES), max_size=6, unique=False))
def test_a_valid_path_is_found_whenever_its_certificates_are_presented(hierarchy, chosen):
    root, leaf, nodes = hierarchy
    chain = [leaf.certificate] + [nodes[n].certificate for n in chosen]
    verdicts = {b: verify_chains([chain], [root.certificate], at=NOW,
                                 names=["leaf-props.example.com"], backend=b)[0]
                for b in VERIFY_BACKENDS}
    reachable = "upper" in chosen and "lower" in chosen
    for verdict in verdicts.values():
        assert verdict.ok == reachable, verdict.detail
        if verdict.ok:
            assert [c.subject for c in verdict.chain] == [
                leaf.certificate.subject, nodes["lower"].certificate.subject,
                nodes["upper"].certificate.subject, root.certificate.subject]
    assert len({v.ok for v in verdicts.values()}) == 1
