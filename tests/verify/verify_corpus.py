"""The corpus both backends are checked on: valid chains and one chain per fault.

Each :class:`Case` holds what to pass to verify_chains and the verdict expected (reason and,
where it is fixed by the fault, the depth of the certificate at fault).
"""

from __future__ import annotations

import dataclasses
import functools

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.verify.verify_factory import (
    DAY,
    KEY_TYPES,
    NOW,
    Chain,
    fresh_key,
    make_cert,
    new_key,
    rsa_key,
    make_chain,
    make_crl,
    make_intermediate,
    make_leaf,
    make_root,
)


@dataclasses.dataclass
class Case:
    id: str
    chain: list[x509.Certificate]
    trust: list[x509.Certificate]
    expected: str | None  # None: the chain is valid
    depth: int | None = None
    name: str | None = None
    crls: list = dataclasses.field(default_factory=list)
    purpose: str = "server"
    max_depth: int | None = None


def _case(id, chain: Chain, expected, depth=None, **kw) -> Case:
    if "name" not in kw:
        kw["name"] = chain.name
    return Case(id, chain.presented, [chain.root.certificate], expected, depth, **kw)


def valid_cases() -> list[Case]:
    cases = []
    for key_type in KEY_TYPES:
        for depth in (1, 2, 3, 4):
            chain = make_chain(depth, key_type)
            cases.append(_case("valid-%s-depth%d" % (key_type, depth), chain, None))
    return cases


def _three(key_type="p256", **leaf_kw):
    """root -> intermediate -> leaf."""
    root = make_root("Root F", key_type=key_type)
    inter = make_intermediate("Intermediate F", root, key_type)
    leaf = make_leaf("leaf-f", inter, key_type, **leaf_kw)
    return Chain(root, [inter], leaf)


def fault_cases() -> list[Case]:
    cases = []
    add = cases.append

    add(_case("expired-leaf", _three(not_before=NOW - 20 * DAY, not_after=NOW - DAY), "expired", 0))
    root = make_root("Root E")
    inter = make_intermediate("Intermediate E", root, not_before=NOW - 20 * DAY,
                              not_after=NOW - DAY)
    add(_case("expired-intermediate", Chain(root, [inter], make_leaf("leaf-e", inter)),
              "expired", 1))
    add(_case("future-dated-leaf", _three(not_before=NOW + DAY), "not_yet_valid", 0))

    chain = _three()
    add(Case("unknown-root", chain.presented, [make_root("Another Root").certificate],
             "untrusted", 1, name=chain.name))
    chain = _three()
    impostor = make_root("Root F", key=fresh_key())  # the right name, another key
    add(Case("root-with-the-right-name-and-another-key", chain.presented,
             [impostor.certificate], "untrusted", 1, name=chain.name))

    add(_case("broken-signature-leaf", _three(corrupt_signature=True), "bad_signature", 0))
    root = make_root("Root S")
    inter = make_intermediate("Intermediate S", root, sign_with=fresh_key())
    add(_case("broken-signature-intermediate",
              Chain(root, [inter], make_leaf("leaf-s", inter)), "bad_signature", 1))

    chain = _three()
    add(_case("revoked-leaf", chain, "revoked", 0,
              crls=[make_crl(chain.issuer, [chain.leaf]), make_crl(chain.root)]))
    chain = _three()
    add(_case("revoked-intermediate", chain, "revoked", 1,
              crls=[make_crl(chain.issuer), make_crl(chain.root, [chain.issuer])]))
    chain = _three()
    add(_case("not-revoked", chain, None,
              crls=[make_crl(chain.issuer, [12345]), make_crl(chain.root)]))
    chain = _three()
    add(_case("crl-signed-by-another-key", chain, "crl_invalid", 0,
              crls=[make_crl(chain.issuer, sign_with=fresh_key()), make_crl(chain.root)]))
    chain = _three()
    add(_case("crl-past-next-update", chain, "crl_invalid", 0,
              crls=[make_crl(chain.issuer, this_update=NOW - 10 * DAY, next_update=NOW - DAY),
                    make_crl(chain.root)]))
    chain = _three()
    add(_case("crl-missing-for-an-issuer", chain, "crl_invalid", 1,
              crls=[make_crl(chain.issuer)]))
    root = make_root("Root K")
    inter = make_intermediate("Intermediate K", root, key_usage="no_crl_sign")
    chain = Chain(root, [inter], make_leaf("leaf-k", inter))
    add(_case("crl-issuer-without-crlsign", chain, "crl_invalid", 0,
              crls=[make_crl(inter), make_crl(root)]))

    root = make_root("Root C")
    inter = make_cert("Not A CA", root, ca=False, eku=())
    add(_case("ca-false-intermediate", Chain(root, [inter], make_leaf("leaf-c", inter)),
              "invalid_ca", 1))
    root = make_root("Root P")
    upper = make_intermediate("Intermediate P0", root, path_length=0)
    lower = make_intermediate("Intermediate P1", upper)
    add(_case("path-length-exceeded",
              Chain(root, [upper, lower], make_leaf("leaf-p", lower)), "path_too_long", 2))
    add(_case("max-depth-exceeded", make_chain(4), "path_too_long", 2, max_depth=1))

    add(_case("wrong-name", _three(), "name_mismatch", 0, name="other.example.net"))
    add(_case("wrong-eku-server",
              _three(eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)), "bad_usage", 0))
    add(_case("wrong-eku-client",
              _three(eku=(ExtendedKeyUsageOID.SERVER_AUTH,)), "bad_usage", 0,
              purpose="client", name=None))
    add(_case("ip-name-against-dns-san", _three(names=("10.0.0.7",)), "name_mismatch", 0,
              name="ten.example.com"))
    add(_case("dns-name-against-ip-san", _three(), "name_mismatch", 0, name="10.0.0.7"))
    add(_case("ip-name-matches-ip-san", _three(names=("10.0.0.7", "::1")), None, name="::1"))
    add(_case("client-certificate", _three(), None, purpose="client", name=None))
    add(_case("server-without-name", _three(), None, name=None))
    add(_case("server-without-name-or-san", _three(names=()), "name_mismatch", 0, name=None))
    add(_case("client-without-san", _three(names=()), None, purpose="client", name=None))
    return cases


def per_key_type_cases() -> list[Case]:
    """The commonest faults once per key type (EdDSA chains go through their own validator
    in the Python backend)."""
    cases = []
    for key_type in KEY_TYPES:
        root = make_root("Root %s K" % key_type, key_type=key_type)
        inter = make_intermediate("Intermediate %s K" % key_type, root, key_type)

        def leaf(label, **kw):
            return Chain(root, [inter], make_leaf("leaf-%s-%s" % (key_type, label), inter,
                                                  key_type, **kw))

        cases += [
            _case("%s-expired-leaf" % key_type,
                  leaf("e", not_before=NOW - 20 * DAY, not_after=NOW - DAY), "expired", 0),
            _case("%s-future-leaf" % key_type, leaf("f", not_before=NOW + DAY),
                  "not_yet_valid", 0),
            _case("%s-broken-signature" % key_type, leaf("s", corrupt_signature=True),
                  "bad_signature", 0),
            _case("%s-wrong-name" % key_type, leaf("n"), "name_mismatch", 0,
                  name="elsewhere.example.org"),
            _case("%s-wrong-eku" % key_type, leaf("u", eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)),
                  "bad_usage", 0),
        ]
        chain = leaf("r")
        cases.append(_case("%s-revoked-leaf" % key_type, chain, "revoked", 0,
                           crls=[make_crl(inter, [chain.leaf]), make_crl(root)]))
        chain = leaf("u")
        cases.append(Case("%s-unknown-root" % key_type, chain.presented,
                          [make_root("Stranger %s" % key_type, key_type=key_type).certificate],
                          "untrusted", 1, name=chain.name))
    return cases


def _ca_leaf():
    """A root and an intermediate, and a 'leaf' that asserts cA with a server name."""
    root = make_root("Root CA Leaf")
    inter = make_intermediate("Intermediate CA Leaf", root)
    leaf = make_cert("ca-leaf", inter, ca=True, extra=(
        (x509.SubjectAlternativeName([x509.DNSName("ca-leaf.example.com")]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)))
    return root, [inter], leaf


def rule_cases() -> list[Case]:
    """The project's own rules (engine/verify/rules.py and their C mirror)."""
    cases = []
    add = cases.append
    add(_case("weak-rsa-leaf", _three(key=rsa_key(1024)), "unsupported", 0))
    add(_case("leaf-eku-critical", _three(eku_critical=True), "bad_usage", 0))
    add(_case("leaf-eku-any", _three(eku=(ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,)),
              "bad_usage", 0))
    root = make_root("Root With EKU", eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
    add(_case("root-with-eku", Chain(root, [], make_leaf("leaf-x", root)), "bad_usage", 1))
    chain = _three(names=("case.example.com",), common_name="Case.Example.com")
    add(_case("common-name-in-other-case", chain, "name_mismatch", 0))
    chain = _three(names=("10.1.2.3",), common_name="10.01.2.3")
    add(_case("common-name-ip-other-notation", chain, "name_mismatch", 0))
    chain = _three(names=("good.example.com",), common_name="unrelated.example.net")
    add(_case("common-name-unrelated-is-left-alone", chain, None))
    add(_case("leaf-that-is-a-ca", Chain(*_ca_leaf()), "bad_usage", 0))
    constraints = x509.NameConstraints(permitted_subtrees=[x509.DNSName("example.com")],
                                       excluded_subtrees=None)
    add(_case("leaf-with-name-constraints", _three(extra=((constraints, True),)),
              "malformed", 0))
    add(_case("leaf-san-critical-with-a-subject", _three(san_critical=True), "malformed", 0))
    add(_case("leaf-dns-name-with-underscore", _three(names=("under_score.example.com",)),
              "malformed", 0))
    root = make_root("Root Without KU", key_usage=None)
    add(_case("root-without-key-usage", Chain(root, [], make_leaf("leaf-k", root)), None))
    root = make_root("Root I-KU")
    inter = make_intermediate("Intermediate Without KU", root, key_usage=None)
    add(_case("intermediate-without-key-usage",
              Chain(root, [inter], make_leaf("leaf-ik", inter)), "invalid_ca", 1))
    root = make_root("Root AKI")
    inter = make_intermediate("Intermediate Without AKI", root, aki=False)
    add(_case("intermediate-without-aki",
              Chain(root, [inter], make_leaf("leaf-aki", inter)), "malformed", 1))
    root = make_root("Root SKI")
    inter = make_intermediate("Intermediate Without SKI", root, ski=False)
    add(_case("intermediate-without-ski",
              Chain(root, [inter], make_leaf("leaf-ski", inter)), "malformed", 1))
    return cases


def path_building_cases() -> list[Case]:
    """Chains whose first-found path fails while another succeeds, and a flood of
    interchangeable certificates."""
    cases = []
    root = make_root("Root PB")
    stranger = make_root("Stranger PB")
    key = new_key()
    good = make_intermediate("Intermediate PB", root, key=key)
    cross = make_intermediate("Intermediate PB", stranger, key=key)  # same subject and key
    leaf = make_leaf("leaf-pb", good)
    chain = [leaf.certificate, cross.certificate, good.certificate]
    cases.append(Case("alternative-issuer-after-a-dead-end", chain, [root.certificate], None,
                      name="leaf-pb.example.com"))
    key = new_key()
    flood = [make_cert("Flood CA", None, key=key, ca=True) for _ in range(12)]
    leaf = make_leaf("leaf-flood", flood[0])
    chain = [leaf.certificate] + [n.certificate for n in flood]
    cases.append(Case("flood-of-interchangeable-intermediates", chain, [make_root(
        "Unrelated Root").certificate], "untrusted", None, name="leaf-flood.example.com"))
    return cases


@functools.lru_cache(maxsize=1)
def all_cases() -> tuple[Case, ...]:
    return tuple(valid_cases() + fault_cases() + per_key_type_cases() + rule_cases()
                 + path_building_cases())
