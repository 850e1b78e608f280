"""Full TLS 1.3 handshakes per second: engine client and server against Python's ssl.

Both sides of each stack run in this process over memory: engine ClientConnection and
ServerConnection pass bytes directly; ssl uses two SSLObjects over MemoryBIOs. The setting is the
same for both: a P-256 ECDSA server certificate from the same CA, x25519, the same cipher suite
(whatever ssl negotiates by default), the client verifying the chain against that CA and the
name "localhost", no session tickets, no client certificate.

The contenders run interleaved: the engine and ssl, each client verifying the server's chain
on every handshake (the engine keeps no verdicts; engine.verify only remembers signatures it
has checked, keyed by the exact certificate and issuer key), and the engine with that memo
emptied before each handshake, which verifies every signature anew as ssl does.

    pytest bench/bench_handshake.py --benchmark-enable -s    # pytest-benchmark tables, ratios
    python bench/bench_handshake.py [--rounds N] [--profile]  # pairs/s, ratios, phases, profile

A ratio is the median over rounds of (engine pairs/s) / (ssl pairs/s), all contenders measured
back to back in each round, the order rotating from round to round.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import ssl
import statistics
import sys
import tempfile
import time

from cryptography.hazmat.primitives import serialization

from engine.pki import CertificateAuthority, TrustStore
from engine.tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection

_MAX_FLIGHTS = 8


class Setting:
    """The CA, the server certificate and the configured engine and ssl contexts."""

    def __init__(self, directory: str):
        ca = CertificateAuthority.create_root("Bench Root CA", key_type="p256")
        leaf = ca.issue_server(["localhost"], key_type="p256")
        ca_path = os.path.join(directory, "ca.pem")
        cert_path = os.path.join(directory, "server.pem")
        key_path = os.path.join(directory, "server.key")
        with open(ca_path, "wb") as fh:
            fh.write(ca.certificate.public_bytes(serialization.Encoding.PEM))
        with open(cert_path, "wb") as fh:
            fh.write(leaf.certificate.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as fh:
            fh.write(leaf.private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))

        self.ssl_server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_server.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ssl_server.load_cert_chain(cert_path, key_path)
        self.ssl_server.num_tickets = 0
        self.ssl_client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ssl_client.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ssl_client.load_verify_locations(ca_path)
        client, _ = ssl_handshake(self)
        self.suite, self.group = client.cipher()[0], "x25519"  # ssl sends an x25519 share first

        common = {"cipher_suites": (self.suite,), "groups": (self.group,)}
        trust = TrustStore([ca.certificate])
        self.client_config = ClientConfig(trust=trust, key_share_groups=(self.group,), **common)
        self.server_config = ServerConfig([leaf.keystore()], **common)


def engine_handshake(setting: Setting, client_config=None):
    """One full handshake between an engine client and an engine server, over memory."""
    client = ClientConnection(client_config or setting.client_config, server_name="localhost")
    server = ServerConnection(setting.server_config)
    to_server = client.data_to_send()
    for _ in range(_MAX_FLIGHTS):
        server.receive_data(to_server)
        to_client = server.data_to_send()
        if to_client:
            client.receive_data(to_client)
        to_server = client.data_to_send()
        if client.handshake_complete and server.handshake_complete:
            return client, server
        if not to_server:
            break
    raise RuntimeError("the engine handshake did not complete")


def ssl_handshake(setting: Setting):
    """One full handshake between two ssl.SSLObjects over MemoryBIOs."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = setting.ssl_client.wrap_bio(c_in, c_out, server_hostname="localhost")
    server = setting.ssl_server.wrap_bio(s_in, s_out, server_side=True)
    client_done = server_done = False
    for _ in range(_MAX_FLIGHTS):
        if not client_done:
            try:
                client.do_handshake()
                client_done = True
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        if not server_done:
            try:
                server.do_handshake()
                server_done = True
            except ssl.SSLWantReadError:
                pass
        c_in.write(s_out.read())
        if client_done and server_done:
            return client, server
    raise RuntimeError("the ssl handshake did not complete")


def engine_handshake_memo_emptied(setting: Setting):
    """An engine handshake after emptying engine.verify's memo of checked signatures, so the
    client verifies the server certificate's signature anew, as ssl does on every handshake."""
    from engine._backend import native, resolve

    if resolve() == "native":
        native()[1].engine_verify_memo_clear()
    return engine_handshake(setting)


def contenders(setting: Setting) -> dict:
    return {"engine": engine_handshake, "engine, memo emptied": engine_handshake_memo_emptied,
            "ssl": ssl_handshake}


PHASES = (
    "client: ClientConnection() (key share, ClientHello)",
    "server: ClientHello -> ServerHello..Finished flight",
    "client: server flight -> Finished (chain, CertificateVerify)",
    "server: client Finished",
)


def engine_phases(setting: Setting, count: int, client_config=None) -> list[float]:
    """Median microseconds of each phase of an engine handshake (see PHASES)."""
    samples = [[] for _ in PHASES]
    clock = time.perf_counter
    for _ in range(count):
        t0 = clock()
        client = ClientConnection(client_config or setting.client_config,
                                  server_name="localhost")
        hello = client.data_to_send()
        t1 = clock()
        server = ServerConnection(setting.server_config)
        server.receive_data(hello)
        flight = server.data_to_send()
        t2 = clock()
        client.receive_data(flight)
        finished = client.data_to_send()
        t3 = clock()
        server.receive_data(finished)
        t4 = clock()
        if not (client.handshake_complete and server.handshake_complete):
            raise RuntimeError("the engine handshake did not complete")
        for index, (start, end) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4))):
            samples[index].append((end - start) * 1e6)
    return [statistics.median(values) for values in samples]


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def pairs_per_second(handshake, setting: Setting, count: int, clock=time.perf_counter) -> float:
    start = clock()
    for _ in range(count):
        handshake(setting)
    return count / (clock() - start)


def interleaved(setting: Setting, rounds: int, per_round: int, clock: str = "wall") -> dict:
    """Per-round pairs/s of every contender, measured back to back, the order rotating.

    ``clock`` "cpu" counts this thread's processor time, which leaves out the time other
    processes held the processor on a busy machine (every contender runs on this thread).
    """
    runs = list(contenders(setting).items())
    rates = {name: [] for name, _ in runs}
    for index in range(rounds):
        shift = index % len(runs)
        for name, handshake in runs[shift:] + runs[:shift]:
            rates[name].append(pairs_per_second(handshake, setting, per_round, CLOCKS[clock]))
    return rates


def ratios_to_ssl(rates: dict) -> dict:
    """name -> per-round ratios of that engine contender to ssl."""
    return {name: [e / s for e, s in zip(values, rates["ssl"])]
            for name, values in rates.items() if name != "ssl"}


# --- pytest-benchmark -------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # script mode without pytest installed
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="module")
    def setting():
        with tempfile.TemporaryDirectory() as directory:
            yield Setting(directory)

    @pytest.mark.benchmark(group="handshake")
    def test_engine_full_handshake(benchmark, setting):
        client, server = benchmark(engine_handshake, setting)
        assert client.handshake_complete and server.handshake_complete

    @pytest.mark.benchmark(group="handshake")
    def test_ssl_full_handshake(benchmark, setting):
        client, server = benchmark(ssl_handshake, setting)
        assert client.version() == server.version() == "TLSv1.3"

    @pytest.mark.benchmark(group="handshake-ratio")
    def test_engine_to_ssl_ratio_interleaved(benchmark, setting):
        """Medians of per-round ratios (engine/ssl), recorded in extra_info; no threshold."""
        result = {}

        def measure():
            result["rates"] = interleaved(setting, rounds=9, per_round=40)

        benchmark.pedantic(measure, rounds=1, iterations=1)
        rates = result["rates"]
        for name, values in rates.items():
            benchmark.extra_info["%s pairs/s" % name] = statistics.median(values)
        for name, ratios in ratios_to_ssl(rates).items():
            benchmark.extra_info["%s / ssl" % name] = statistics.median(ratios)
            print("\n%s: %.0f pairs/s, ssl %.0f pairs/s, ratio %.2f (median of %d rounds)"
                  % (name, statistics.median(rates[name]), statistics.median(rates["ssl"]),
                     statistics.median(ratios), len(ratios)))
        assert all(rate > 0 for values in rates.values() for rate in values)


# --- script mode ------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile top 20 of the engine handshake")
    parser.add_argument("--profile-count", type=int, default=300)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this thread's processor time (steadier on a "
                        "busy machine)")
    args = parser.parse_args(argv)
    from engine._backend import resolve

    with tempfile.TemporaryDirectory() as directory:
        setting = Setting(directory)
        for handshake in contenders(setting).values():  # warm up
            for _ in range(20):
                handshake(setting)
        rates = interleaved(setting, args.rounds, args.per_round, args.clock)
        print("setting: P-256 ECDSA certificate, %s, %s, client verifies the chain "
              "(engine backend: %s; %s)" % (setting.group, setting.suite, resolve(),
                                            ssl.OPENSSL_VERSION))
        print("rounds: %d x %d handshakes per contender, interleaved, %s clock"
              % (args.rounds, args.per_round, args.clock))
        for name, values in rates.items():
            print("%-26s %7.1f pairs/s (median; min %.1f, max %.1f)"
                  % (name + ":", statistics.median(values), min(values), max(values)))
        for name, ratios in ratios_to_ssl(rates).items():
            print("ratio %-26s %.2f (median of per-round ratios; min %.2f, max %.2f)"
                  % ("(" + name + ")/ssl:", statistics.median(ratios), min(ratios),
                     max(ratios)))
        phases = engine_phases(setting, args.per_round, None)
        print("\nengine handshake by phase (median of %d, microseconds):" % args.per_round)
        for phase, micros in zip(PHASES, phases):
            print("  %7.1f  %s" % (micros, phase))
        print("  %7.1f  total" % sum(phases))
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.profile_count):
                engine_handshake(setting)
            profiler.disable()
            print("\ncProfile of %d engine handshakes (client + server), "
                  "top 20 by own time:" % args.profile_count)
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("tottime").print_stats(20)
            print("The engine's own functions by cumulative time (where to look first):")
            stats.sort_stats("cumulative").print_stats(r"engine[/\\](tls|verify|records)", 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
