"""The native verifier refuses inconsistent arguments instead of reading through them.

The C entry points run without the GIL on pointers cffi hands them; every array they index
is checked for presence, every index and count for range, before a worker thread starts.
"""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests._support.backends import VERIFY_BACKENDS
from tests.verify.verify_factory import NOW, make_chain, make_crl, make_leaf

pytestmark = pytest.mark.skipif("native" not in VERIFY_BACKENDS,
                                reason="the native extension with its verifier is not built")


def _der(certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


@pytest.fixture(scope="module")
def world():
    chain = make_chain(2)
    leaves = [make_leaf("host-%d" % i, chain.issuer) for i in range(6)]
    crls = (make_crl(chain.issuer, [leaves[1]]), make_crl(chain.root))
    chains = [(_der(leaf.certificate), _der(chain.issuer.certificate)) for leaf in leaves]
    names = ["host-%d.example.com" % i for i in range(6)]
    names[2] = "other.example.com"
    return chain, chains, names, (_der(chain.root.certificate),), tuple(
        crl.public_bytes(Encoding.DER) for crl in crls)


@pytest.fixture
def c_batch(world):
    """A consistent batch of one chain for engine_verify_batch: its chains and parameters as
    dicts of fields, and the output arrays."""
    from engine import _backend
    from engine.verify import _native as native_verifier

    ffi, lib = _backend.native()
    _, chains, names, anchors, _ = world
    store = native_verifier.prepare(anchors, ())
    certs = ffi.new("void *[]", 2)
    der = b"".join(chains[0])
    name = names[0].encode() + b"\0"
    keep = [ffi.from_buffer(der), ffi.from_buffer(name)]
    chain = dict(
        certs=certs, n_certs=2, der=keep[0],
        der_offsets=ffi.new("size_t[]", [0, len(chains[0][0]), len(der)]), der_len=len(der),
        starts=ffi.new("size_t[]", [0, 2]), members=ffi.new("unsigned int[]", [0, 1]),
        n_chains=1, names=keep[1], names_len=len(name), unnamed=ffi.NULL,
    )
    params = dict(at=int(NOW.timestamp()), purpose=0, max_depth=8, check_crls=0, threads=1,
                  options=0)
    out = dict(results=ffi.new("engine_verify_result[]", 1), paths=ffi.new("int[]", 3),
               paths_len=3)
    yield ffi, lib, store, chain, params, out, keep
    for handle in certs:
        if handle != ffi.NULL:
            lib.engine_verify_cert_free(handle)


def _call(ffi, lib, store, chain, params, out):
    arrays = dict(chain)  # cffi structs hold pointers, not references: keep the arrays here
    for field in ("starts", "members", "der_offsets"):
        if isinstance(arrays[field], list):
            arrays[field] = ffi.new(("size_t[]" if field != "members" else "unsigned int[]"),
                                    arrays[field])
    c_chain = ffi.new("engine_verify_chains *", arrays)
    c_params = ffi.new("engine_verify_params *", params)
    return lib.engine_verify_batch(store, c_chain, c_params, out["results"], out["paths"],
                                   out["paths_len"])


def test_a_consistent_batch_is_verified(c_batch):
    ffi, lib, store, chain, params, out, _ = c_batch
    assert _call(ffi, lib, store, chain, params, out) == 0
    assert out["results"][0].code == 0
    assert out["results"][0].chain_len == 3


@pytest.mark.parametrize("missing", ["members", "results", "paths", "starts", "certs"])
def test_a_missing_array_is_refused(c_batch, missing):
    ffi, lib, store, chain, params, out, _ = c_batch
    (out if missing in out else chain)[missing] = ffi.NULL
    assert _call(ffi, lib, store, chain, params, out) == -1


def test_a_missing_struct_is_refused(c_batch):
    ffi, lib, store, chain, params, out, _ = c_batch
    c_chain = ffi.new("engine_verify_chains *", chain)
    c_params = ffi.new("engine_verify_params *", params)
    for args in ((ffi.NULL, c_chain, c_params), (store, ffi.NULL, c_params),
                 (store, c_chain, ffi.NULL)):
        assert lib.engine_verify_batch(*args, out["results"], out["paths"], 3) == -1


@pytest.mark.parametrize("change", [
    dict(members=[0, 2]),                 # a member past the certificates
    dict(starts=[1, 0]),                  # chain boundaries that go backwards
    dict(starts=[1, 2]),                  # a first chain that does not start at 0
    dict(max_depth=65), dict(max_depth=-1),
    dict(paths_len=2),                    # no room for the path
    dict(der_offsets=[0, 500, 400]),      # offsets that go backwards
    dict(der_offsets=[0, 500, 100000]),   # past the end of the DER
    dict(names_len=1),                    # fewer names than chains
    dict(n_certs=2 ** 33),
])
def test_an_inconsistent_batch_is_refused(c_batch, change):
    ffi, lib, store, chain, params, out, _ = c_batch
    for name, value in change.items():
        for target in (chain, params, out):
            if name in target:
                target[name] = value
    assert _call(ffi, lib, store, chain, params, out) == -1


def test_names_without_a_final_nul_are_refused(c_batch):
    ffi, lib, store, chain, params, out, keep = c_batch
    text = b"host-0.example.com\0x"  # one NUL for one chain, but not at the end
    keep.append(ffi.from_buffer(text))
    chain.update(names=keep[-1], names_len=len(text))
    assert _call(ffi, lib, store, chain, params, out) == -1


def test_a_store_with_a_missing_der_is_refused_with_its_index(world):
    from engine import _backend

    ffi, lib = _backend.native()
    anchor = world[3][0]
    bad = ffi.new("int *")
    ders = ffi.new("const unsigned char *[]", [ffi.from_buffer(anchor), ffi.NULL])
    lengths = ffi.new("size_t[]", [len(anchor), 100])
    assert lib.engine_verify_store_new(ders, lengths, 2, ffi.NULL, ffi.NULL, 0, bad) == ffi.NULL
    assert bad[0] == 1
    assert lib.engine_verify_store_new(ders, lengths, 1, ders + 1, lengths + 1, 1, bad) \
        == ffi.NULL
    assert bad[0] == 1  # the CRL, counted after the one anchor
    assert lib.engine_verify_store_new(ffi.NULL, ffi.NULL, 1, ffi.NULL, ffi.NULL, 0, bad) \
        == ffi.NULL
    assert lib.engine_verify_store_new(ders, lengths, 1, ffi.NULL, ffi.NULL, 0, ffi.NULL) \
        == ffi.NULL


def test_a_name_with_a_nul_is_not_checked_as_its_prefix(world):
    from engine.verify import _native as native_verifier

    _, chains, names, anchors, _ = world
    with pytest.raises(ValueError, match="NUL"):
        native_verifier.verify([chains[0]], [names[0] + "\0.evil.example"], anchors, (), None,
                              at=NOW, purpose="server", max_depth=None, threads=1)
    with pytest.raises(ValueError, match="NUL"):
        native_verifier.verify(chains[:2], [names[0] + "\0x", None], anchors, (), None,
                              at=NOW, purpose="server", max_depth=None, threads=1)


def test_any_thread_count_is_taken(world):
    from engine.verify import _native as native_verifier

    _, chains, names, anchors, _ = world
    for threads in (0, -5, 2**40):
        verdicts = native_verifier.verify(chains[:2], names[:2], anchors, (), None, at=NOW,
                                         purpose="server", max_depth=None, threads=threads)
        assert [v.reason for v in verdicts] == [None, None]


def test_a_negative_depth_limit_is_a_value_error(world):
    from engine.verify import _native as native_verifier

    _, chains, names, anchors, _ = world
    with pytest.raises(ValueError):
        native_verifier.verify(chains[:1], names[:1], anchors, (), None, at=NOW,
                              purpose="server", max_depth=-1, threads=1)


def test_batches_from_many_python_threads_at_once_agree(world):
    """The handle cache, the store cache and the signature memo are shared by every call."""
    from engine.verify import verify_chains

    chain, chains, names, anchors, crls = world
    expected = [None, "revoked", "name_mismatch", None, None, None]
    results, errors = [], []

    def work(offset):
        try:
            for i in range(6):
                k = (offset + i) % 6
                order = chains[k:] + chains[:k]
                wanted = names[k:] + names[:k]
                verdicts = verify_chains([list(c) for c in order], list(anchors), crls=list(crls),
                                         at=NOW, names=wanted, threads=2, backend="native")
                results.append([v.reason for v in verdicts] == expected[k:] + expected[:k])
        except Exception as exc:  # handed to the test
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert results == [True] * 24
