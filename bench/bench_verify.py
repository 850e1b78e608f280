"""Batch chain verification: the native verifier against the Python twin, cryptography's
verifier alone, and the cost of the signatures the batch cannot avoid.

    python bench/bench_verify.py            # the table (N chains, interleaved rounds)
    python bench/bench_verify.py --dask     # Dask: 2 worker processes against 1, and the
                                            # cost of Dask against the local batch
    pytest bench/bench_verify.py --benchmark-enable   # the same variants under pytest-benchmark

The batch: N two-level chains (leaf, intermediate; the root trusted), half of them P-256
throughout and half RSA-2048 throughout (leaf key pairs shared across leaves, which
verification does not notice), every leaf with its own name and serial. CRLs: each
intermediate's, listing 10,000 revoked serials, 10% of the batch's leaves among them, and each
root's (empty), so every certificate of every path is checked.

Variants, measured in interleaved rounds after one warm-up round:
  native-all   verify_chains(backend="native", threads=os.cpu_count()), the memo of signatures
               verified by earlier calls emptied first (every signature verified: like for
               like with the limit)
  native-1     the same on one thread
  stream       iter_verify over the same chains (batches of 4,096 verified ahead on a helper
               thread, bounded memory), memo emptied first
  native-warm  native-all with the memo as the previous call left it (a batch seen before:
               its signatures, as far as the bounded memo holds them, are not verified again)
  python       verify_chains(backend="python")
  crypto-only  cryptography's verifier over the same chains, no revocation check
  ossl-sigs    native-all, but OpenSSL's own signature step (each chain's signatures checked
               anew: what the per-batch signature sharing saves)
  ossl-crls    native-all, but OpenSSL's own CRL check (X509_V_FLAG_CRL_CHECK_ALL: what
               checking each CRL once and the sorted serial tables save)
  limit        the distinct signature verifications the batch needs (each leaf's, each
               intermediate's, each CRL's: N + 6) back to back with libcrypto on all cores
  limit-1      the same on one thread

Reported: the median time of each, and the medians of the per-round ratios. Then a batch of
one (one P-256 chain, as a TLS handshake verifies it): microseconds per verify_chains call,
native with the signature memo, native with the memo emptied before each call, and Python. Environment:
ENGINE_BENCH_VERIFY_N (default 10000), ENGINE_BENCH_VERIFY_ROUNDS (default 5). The generated
certificates are cached under .benchmarks/ (generation takes a while the first time).
"""

from __future__ import annotations

import datetime
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".benchmarks"
N = int(os.environ.get("ENGINE_BENCH_VERIFY_N", "10000"))
ROUNDS = int(os.environ.get("ENGINE_BENCH_VERIFY_ROUNDS", "5"))
CRL_SIZE = 10_000
AT = datetime.datetime(2030, 6, 1, tzinfo=datetime.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(subject, key, issuer_name, issuer_key, serial, path_length):
    usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    builder = (
        x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
        .public_key(key.public_key()).serial_number(serial)
        .not_valid_before(AT - datetime.timedelta(days=365))
        .not_valid_after(AT + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer_key is not key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _hash_for(key):
    return hashes.SHA384() if isinstance(key, ec.EllipticCurvePrivateKey) and \
        key.curve.key_size > 256 else hashes.SHA256()


def _hierarchy(kind):
    """(root, root key, intermediate, intermediate key, leaf keys) of one key type."""
    if kind == "p256":
        new = lambda: ec.generate_private_key(ec.SECP256R1())  # noqa: E731
    else:
        new = lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)  # noqa: E731
    root_key, inter_key = new(), new()
    root = _ca("Bench Root %s" % kind, root_key, _name("Bench Root %s" % kind), root_key, 1, None)
    inter = _ca("Bench Issuing CA %s" % kind, inter_key, root.subject, root_key, 2, 0)
    return root, root_key, inter, inter_key, [new() for _ in range(2)]


def generate(n: int) -> dict:
    """The batch as DER. Half the chains are P-256 throughout (root, intermediate, leaf), half
    RSA-2048 throughout; every tenth leaf is revoked."""
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    hierarchies = {kind: _hierarchy(kind) for kind in ("p256", "rsa2048")}
    chains, names, revoked = [], [], {"p256": [], "rsa2048": []}
    for i in range(n):
        kind = "p256" if i % 2 == 0 else "rsa2048"
        root, root_key, inter, inter_key, leaf_keys = hierarchies[kind]
        key = leaf_keys[(i // 2) % len(leaf_keys)]
        name = "host%d.bench.example" % i
        serial = 1_000_000 + i
        leaf = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(inter.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(AT - datetime.timedelta(days=30))
            .not_valid_after(AT + datetime.timedelta(days=60))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(eku, critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                inter_key.public_key()), critical=False)
            .sign(inter_key, _hash_for(inter_key))
        )
        chains.append([leaf.public_bytes(Encoding.DER), inter.public_bytes(Encoding.DER)])
        names.append(name)
        if i % 10 == 0:
            revoked[kind].append(serial)
    crls = []
    for kind, (root, root_key, inter, inter_key, _) in hierarchies.items():
        in_batch = revoked[kind]
        others = [50_000_000 + j for j in range(max(0, CRL_SIZE - len(in_batch)))]
        for issuer, key, serials in ((inter, inter_key, in_batch + others), (root, root_key, [])):
            builder = (
                x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
                .last_update(AT - datetime.timedelta(days=1))
                .next_update(AT + datetime.timedelta(days=6))
                .add_extension(x509.CRLNumber(1), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    key.public_key()), critical=False)
            )
            for serial in serials:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(serial)
                    .revocation_date(AT - datetime.timedelta(days=2)).build())
            crls.append(builder.sign(key, _hash_for(key)).public_bytes(Encoding.DER))
    return {
        "roots": [h[0].public_bytes(Encoding.DER) for h in hierarchies.values()],
        "intermediates": [h[2].public_bytes(Encoding.DER) for h in hierarchies.values()],
        "chains": chains, "names": names, "crls": crls,
        "revoked": sum(len(v) for v in revoked.values()),
    }


def corpus(n: int = N) -> dict:
    """The batch for ``n`` chains, generated once and cached under .benchmarks/."""
    path = CACHE / ("verify-corpus-v2-%d.pickle" % n)
    if path.exists():
        with open(path, "rb") as fh:
            return pickle.load(fh)
    data = generate(n)
    CACHE.mkdir(exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=CACHE, prefix=".verify-corpus-")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
    return data


class Bench:
    """The variants over one batch; each call processes the whole batch once."""

    def __init__(self, data: dict):
        from engine import _backend
        from engine.verify import inputs

        self.data = data
        self.chains = data["chains"]
        self.names = data["names"]
        self.trust = data["roots"]
        self.crls = data["crls"]
        self.cpus = os.cpu_count() or 1
        self.native = _backend.native_verifier()
        self.parsed = [[inputs.certificate(d) for d in chain] for chain in self.chains]
        self.parsed_roots = [inputs.certificate(d) for d in self.trust]
        if self.native:
            self._prepare_limit()

    def _prepare_limit(self):
        """Handles for every signature the batch needs once: each leaf's (under its
        intermediate), each intermediate's (under its root), each CRL's (under its issuer)."""
        from engine import _backend
        from engine.verify import _native as native_verifier

        ffi, lib = _backend.native()
        self._lib = lib
        self._store = native_verifier.prepare(tuple(self.trust), tuple(self.crls))
        leaves = native_verifier.handles([c[0] for c in self.chains], self.cpus)
        inters = native_verifier.handles(self.data["intermediates"])
        roots = native_verifier.handles(self.trust)
        by_der = dict(zip(self.data["intermediates"], inters))
        issuers = [by_der[c[1]] for c in self.chains]
        subjects = leaves + inters
        issuers = issuers + roots
        self._keep = subjects + issuers
        self._subjects = ffi.new("void *[]", subjects)
        self._issuers = ffi.new("void *[]", issuers)
        self._n = len(subjects)
        crl_issuers = []  # the store keeps the CRLs in the order given: per kind, CA then root
        for inter, root in zip(inters, roots):
            crl_issuers += [inter, root]
        self._crl_issuers = ffi.new("void *[]", crl_issuers)
        self._n_crls = len(crl_issuers)
        self.signatures = self._n + self._n_crls

    def native_all(self):
        self._lib.engine_verify_memo_clear()
        return self._verify("native", self.cpus)

    def native_one(self):
        self._lib.engine_verify_memo_clear()
        return self._verify("native", 1)

    def stream(self):
        from engine.verify import iter_verify

        self._lib.engine_verify_memo_clear()
        return sum(1 for v in iter_verify(self.chains, self.trust, crls=self.crls, at=AT,
                                          names=self.names) if v.reason == "revoked")

    def native_warm(self):
        return self._verify("native", self.cpus)

    def python(self):
        return self._verify("python", None)

    def _verify(self, backend, threads):
        from engine.verify import verify_chains

        verdicts = verify_chains(self.chains, self.trust, crls=self.crls, at=AT, names=self.names,
                                 threads=threads, backend=backend)
        return sum(1 for v in verdicts if v.reason == "revoked")

    def _native_options(self, options):
        """native-all with some of the batch shortcuts handed back to OpenSSL."""
        self._lib.engine_verify_memo_clear()
        from engine.verify import _native as native_verifier, inputs
        from engine.verify.revocation import index_for

        anchors = inputs.trust_ders(self.trust)
        crls = inputs.crl_ders(self.crls)
        verdicts = native_verifier.verify(
            [tuple(c) for c in self.chains], self.names, anchors, crls, index_for(crls),
            at=AT, purpose="server", max_depth=None, threads=self.cpus, options=options)
        return sum(1 for v in verdicts if v.reason == "revoked")

    def native_openssl_signatures(self):
        return self._native_options(self._lib.ENGINE_VERIFY_OPENSSL_SIGNATURES)

    def native_openssl_crls(self):
        return self._native_options(self._lib.ENGINE_VERIFY_OPENSSL_CRLS)

    def crypto_only(self):
        from cryptography.x509.verification import DNSName, PolicyBuilder, Store

        builder = PolicyBuilder().store(Store(self.parsed_roots)).time(AT)
        ok = 0
        for chain, name in zip(self.parsed, self.names):
            builder.build_server_verifier(DNSName(name)).verify(chain[0], chain[1:])
            ok += 1
        return ok

    def limit(self, threads=None):
        failures = self._lib.engine_verify_signatures(
            self._store, self._subjects, self._issuers, self._n,
            self._crl_issuers, self._n_crls, threads or self.cpus)
        if failures:
            raise RuntimeError("%d signatures did not verify" % failures)
        return 0

    def limit_one(self):
        return self.limit(1)


def _timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(n: int = N, rounds: int = ROUNDS, out=sys.stdout) -> dict:
    data = corpus(n)
    bench = Bench(data)
    variants = {"python": bench.python, "crypto-only": bench.crypto_only}
    if bench.native:
        variants = {"native-all": bench.native_all, "native-1": bench.native_one,
                    "stream": bench.stream, "native-warm": bench.native_warm,
                    "ossl-sigs": bench.native_openssl_signatures,
                    "ossl-crls": bench.native_openssl_crls,
                    **variants, "limit": bench.limit, "limit-1": bench.limit_one}
        assert bench.native_all() == bench.python() == data["revoked"], "verdicts differ"
        assert bench.native_openssl_signatures() == bench.native_openssl_crls() == \
            data["revoked"], "verdicts differ"
    for fn in variants.values():  # warm-up: parsing, stores, verifiers
        fn()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(_timed(fn))
    print("batch: %d chains (leaf + intermediate, trusted root; half P-256, half RSA-2048), "
          "each intermediate's CRL of %d serials, %d revoked in the batch; %d cores; %d rounds"
          % (n, CRL_SIZE, data["revoked"], bench.cpus, rounds), file=out)
    print("%-12s %10s %14s" % ("variant", "median s", "chains/s"), file=out)
    for name, values in times.items():
        median = statistics.median(values)
        print("%-12s %10.4f %14.0f" % (name, median, n / median), file=out)
    ratios = {}
    if bench.native:
        def ratio(a, b):
            return statistics.median(x / y for x, y in zip(times[a], times[b]))
        ratios = {
            "native-all speed-up over python": ratio("python", "native-all"),
            "native-1 speed-up over python": ratio("python", "native-1"),
            "native-all speed-up over crypto-only": ratio("crypto-only", "native-all"),
            "native-all / limit (fraction of the bound)": ratio("limit", "native-all"),
            "native-1 / limit-1 (one thread each)": ratio("limit-1", "native-1"),
            "native-all speed-up over native-1": ratio("native-1", "native-all"),
            "stream / native-all (streaming's cost)": ratio("native-all", "stream"),
            "native-warm speed-up over native-all (memo)": ratio("native-all", "native-warm"),
            "limit speed-up over limit-1 (what the cores give)": ratio("limit-1", "limit"),
            "shared signatures: speed-up over ossl-sigs": ratio("ossl-sigs", "native-all"),
            "own CRL tables: speed-up over ossl-crls": ratio("ossl-crls", "native-all"),
        }
        print("medians of per-round ratios (limit: %d signatures)" % bench.signatures, file=out)
        for label, value in ratios.items():
            print("  %-45s %6.2f" % (label, value), file=out)
    single = batch_of_one(data, rounds, out) if bench.native else {}
    return {"times": times, "ratios": ratios, "one": single}


def batch_of_one(data: dict, rounds: int, out=sys.stdout, calls: int = 300) -> dict:
    """Microseconds per verify_chains call for one P-256 chain (a handshake's verification)."""
    from engine import _backend
    from engine.verify import verify_chains

    _, lib = _backend.native()
    chain, name = [data["chains"][0]], [data["names"][0]]  # even chains are P-256 throughout
    trust = data["roots"]

    def native():
        return verify_chains(chain, trust, at=AT, names=name, backend="native")

    def native_cold():
        lib.engine_verify_memo_clear()
        return verify_chains(chain, trust, at=AT, names=name, backend="native")

    def python():
        return verify_chains(chain, trust, at=AT, names=name, backend="python")

    variants = {"native (memo)": native, "native (memo emptied)": native_cold, "python": python}
    for fn in variants.values():
        assert fn()[0].ok, "the single chain does not verify"
    times = {label: [] for label in variants}
    for _ in range(rounds):
        for label, fn in variants.items():
            started = time.perf_counter()
            for _ in range(calls):
                fn()
            times[label].append((time.perf_counter() - started) / calls * 1e6)
    print("batch of one (one P-256 chain, %d calls per round, no CRLs):" % calls, file=out)
    result = {}
    for label, values in times.items():
        result[label] = statistics.median(values)
        print("  %-24s %8.1f us per call" % (label, result[label]), file=out)
    return result


# --- pytest-benchmark entry points (pytest bench/bench_verify.py --benchmark-enable) ---------

def _bench(n=min(N, 1000)):
    return Bench(corpus(n))


def test_native_all_cores(benchmark):
    import pytest

    bench = _bench()
    if not bench.native:
        pytest.skip("the native extension is not built")
    assert benchmark(bench.native_all) == bench.data["revoked"]


def test_python_twin(benchmark):
    bench = _bench()
    assert benchmark(bench.python) == bench.data["revoked"]


def test_cryptography_verifier_alone(benchmark):
    bench = _bench()
    assert benchmark(bench.crypto_only) == len(bench.chains)


def test_signature_bound(benchmark):
    import pytest

    bench = _bench()
    if not bench.native:
        pytest.skip("the native extension is not built")
    assert benchmark(bench.limit) == 0


# --- Dask: python bench/bench_verify.py --dask ------------------------------------------------

def _cold() -> None:
    """Forget every parsed certificate and remembered signature (run in each process), so that
    each round verifies the batch as a stream of chains never seen before would."""
    from engine import _backend
    from engine.verify import _native as native_verifier

    _, lib = _backend.native()
    lib.engine_verify_memo_clear()
    native_verifier._handles.clear()


def run_dask(n: int = N, rounds: int = ROUNDS, out=sys.stdout) -> dict:
    """Interleaved rounds of: the local batch on one thread and on every core, and
    engine.verify.dask on a LocalCluster of 1 and of 2 worker processes (one thread each),
    every variant cold (certificates parsed, signatures verified anew). Reports medians and
    the medians of per-round ratios: 2 workers against 1, and Dask's cost against the local
    batch on one machine (per chain)."""
    from engine.verify import dask as verify_dask
    from engine.verify import verify_chains

    data = corpus(n)
    chains, names, trust, crls = data["chains"], data["names"], data["roots"], data["crls"]
    cpus = os.cpu_count() or 1
    clients = {workers: verify_dask.connect(workers=workers) for workers in (1, 2)}
    try:
        def local(threads):
            def go():
                _cold()
                verdicts = verify_chains(chains, trust, crls=crls, at=AT, names=names,
                                         threads=threads, backend="native")
                return sum(1 for v in verdicts if v.reason == "revoked")
            return go

        def spread(workers):
            client = clients[workers]

            def go():
                client.run(_cold)
                verdicts = verify_dask.verify_chains(chains, trust, crls=crls, at=AT,
                                                     names=names, client=client,
                                                     progress=False)
                return sum(1 for v in verdicts if v.reason == "revoked")
            return go

        bound = Bench(data)  # the signature bound on 1 and on 2 threads: what the cores give
        variants = {"local-1": local(1), "local-all": local(cpus), "dask-1": spread(1),
                    "dask-2": spread(2), "limit-1": bound.limit_one,
                    "limit-2": lambda: bound.limit(2)}
        for label, fn in variants.items():  # warm-up: imports, stores, verdicts agree
            assert label.startswith("limit") or fn() == data["revoked"], label
        times = {label: [] for label in variants}
        for _ in range(rounds):
            for label, fn in variants.items():
                times[label].append(_timed(fn))
    finally:
        for client in clients.values():
            verify_dask.close(client)

    def ratio(a, b):
        return statistics.median(x / y for x, y in zip(times[a], times[b]))

    print("Dask: %d chains (the corpus above), cold: every certificate parsed and every "
          "signature verified each round; %d cores; %d rounds" % (n, cpus, rounds), file=out)
    print("%-10s %10s %14s" % ("variant", "median s", "chains/s"), file=out)
    for label, values in times.items():
        median = statistics.median(values)
        print("%-10s %10.3f %14.0f" % (label, median, n / median), file=out)
    overhead = statistics.median((d - l) / n * 1e6 for d, l in zip(times["dask-1"],
                                                                   times["local-1"]))
    ratios = {
        "dask-2 speed-up over dask-1 (goal >= 1.8)": ratio("dask-1", "dask-2"),
        "dask-1 / local-1 (Dask's cost on one worker)": ratio("local-1", "dask-1"),
        "dask-2 / local-all (both cores)": ratio("local-all", "dask-2"),
        "local-all speed-up over local-1 (threads)": ratio("local-1", "local-all"),
        "limit-2 speed-up over limit-1 (what the cores give)": ratio("limit-1", "limit-2"),
    }
    print("medians of per-round ratios", file=out)
    for label, value in ratios.items():
        print("  %-45s %6.2f" % (label, value), file=out)
    print("  %-45s %6.1f us" % ("Dask's cost per chain (dask-1 - local-1)", overhead), file=out)
    return {"times": times, "ratios": ratios, "overhead_us": overhead}


if __name__ == "__main__":
    if "--dask" in sys.argv[1:]:
        run_dask()
    else:
        run()
