"""Handshakes per second, full and resumed: engine client and server against Python's ssl.

Both sides of each stack run in this process over memory: engine ClientConnection and
ServerConnection pass bytes directly; ssl uses two SSLObjects over MemoryBIOs (bench/
tls_setting.py). The setting is the same for both: a P-256 ECDSA server certificate from the
same CA, x25519, the same cipher suite (whatever ssl negotiates by default), the client
verifying the chain against that CA and the name "localhost", no client certificate.

Full handshakes: no session tickets (ssl ``num_tickets = 0``, engine ``ticket_count=0``), the
client verifying the server's chain every time; "engine, memo emptied" also empties the memo of
signatures engine.verify has checked, so every signature is verified anew as ssl does.

Resumed handshakes (RFC 8446 2.2, PSK with x25519): both servers send tickets (two after a full
handshake, one after a resumed one, as OpenSSL does), both clients pass the same session every
time (ssl ``session=``, engine ``session=``) and read the new ticket the server sends. rtls is
not measured: its ssl-style API exposes no session. "engine resumed, psk_ke" resumes without
(EC)DHE, which both engine sides must be configured for (ssl offers no such option): it shows
what the x25519 exchange costs, not a like-for-like figure.

    pytest bench/bench_handshake.py --benchmark-enable -s    # pytest-benchmark tables, ratios
    python bench/bench_handshake.py [--rounds N] [--clock cpu] [--profile]

A ratio is the median over rounds of per-round ratios, every contender measured back to back in
each round, the order rotating from round to round.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tls_setting import Setting, engine_handshake, memory_handshake, rtls  # noqa: E402

from engine.tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection  # noqa: E402


def prepare(setting: Setting) -> Setting:
    """Add to ``setting`` what the full and resumed contenders need: servers without tickets
    for full handshakes, and a session of each stack to resume."""
    common = {"cipher_suites": (setting.suite,), "groups": (setting.group,)}
    setting.full_server_config = ServerConfig([setting.server_keystore], ticket_count=0, **common)
    setting.ssl_full_server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    setting.ssl_full_server.minimum_version = ssl.TLSVersion.TLSv1_3
    setting.ssl_full_server.load_cert_chain(setting.cert_path, setting.key_path)
    setting.ssl_full_server.num_tickets = 0
    setting.ssl_server.num_tickets = 2
    client, _ = engine_handshake(setting)
    setting.engine_session = client.session
    modes = {"psk_key_exchange_modes": ("psk_ke",)}
    setting.psk_ke_server_config = ServerConfig([setting.server_keystore], **modes, **common)
    setting.psk_ke_client_config = ClientConfig(trust=setting.trust, session_cache_size=0,
                                                key_share_groups=(setting.group,), **modes,
                                                **common)
    client, _ = engine_handshake(setting, setting.psk_ke_client_config,
                                 setting.psk_ke_server_config)
    setting.psk_ke_session = client.session
    client, _, (c_in, _, _, _) = memory_handshake(ssl, setting.ssl_client, setting.ssl_server)
    read_tickets(client)
    setting.ssl_session = client.session
    if setting.engine_session is None or not setting.ssl_session.has_ticket:
        raise RuntimeError("no session to resume")
    return setting


def read_tickets(client) -> None:
    """Let an ssl client process what the server sent after the handshake (its tickets)."""
    try:
        client.read(1)
    except ssl.SSLWantReadError:
        pass


def engine_full(setting: Setting):
    return engine_handshake(setting, server_config=setting.full_server_config)


def engine_full_memo_emptied(setting: Setting):
    """A full engine handshake after emptying engine.verify's memo of checked signatures, so
    the client verifies the server certificate's signature anew, as ssl does every time."""
    from engine._backend import native, resolve

    if resolve() == "native":
        native()[1].engine_verify_memo_clear()
    return engine_full(setting)


def ssl_full(setting: Setting):
    client, server, _ = memory_handshake(ssl, setting.ssl_client, setting.ssl_full_server)
    return client, server


def engine_resumed(setting: Setting):
    client, server = engine_handshake(setting, session=setting.engine_session)
    if not client._resumed:
        raise RuntimeError("the engine handshake was not resumed")
    return client, server


def engine_resumed_psk_ke(setting: Setting):
    client, server = engine_handshake(setting, setting.psk_ke_client_config,
                                      setting.psk_ke_server_config, setting.psk_ke_session)
    if not client._resumed or client._group is not None:
        raise RuntimeError("the engine handshake was not resumed with psk_ke")
    return client, server


def ssl_resumed(setting: Setting):
    client, server, _ = memory_handshake(ssl, setting.ssl_client, setting.ssl_server,
                                         session=setting.ssl_session)
    read_tickets(client)
    if not client.session_reused:
        raise RuntimeError("the ssl handshake was not resumed")
    return client, server


def rtls_full(setting: Setting):
    client, server, _ = memory_handshake(rtls, setting.rtls_client, setting.rtls_server)
    return client, server


class PublicKeyWork:
    """The public-key operations of one full pair, through cryptography as the engine does
    them: two x25519 key pairs and exchanges, the server's ECDSA P-256 signature and the
    client's check of it (the chain's own signature is remembered after the first handshake).
    Their rate is the ceiling of any handshake built on these primitives."""

    def __init__(self, setting: Setting):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, x25519

        self._x25519, self._ec, self._hash = x25519, ec, hashes.SHA256()
        self._key = setting.server_keystore.private_key
        self._public = self._key.public_key()

    def __call__(self, setting: Setting):
        x25519, ec = self._x25519, self._ec
        client = x25519.X25519PrivateKey.generate()
        client_share = client.public_key().public_bytes_raw()
        server = x25519.X25519PrivateKey.generate()
        server_share = server.public_key().public_bytes_raw()
        server.exchange(x25519.X25519PublicKey.from_public_bytes(client_share))
        client.exchange(x25519.X25519PublicKey.from_public_bytes(server_share))
        content = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + bytes(48)
        signature = self._key.sign(content, ec.ECDSA(self._hash))
        self._public.verify(signature, content, ec.ECDSA(self._hash))
        return None, None


def contenders(setting: Setting) -> dict:
    runs = {"engine": engine_full, "engine, memo emptied": engine_full_memo_emptied,
            "ssl": ssl_full, "engine resumed": engine_resumed, "ssl resumed": ssl_resumed,
            "engine resumed, psk_ke": engine_resumed_psk_ke,
            "public-key work of a pair": PublicKeyWork(setting)}
    if rtls is not None:
        runs["rtls"] = rtls_full
    return runs


RATIOS = (("engine", "ssl"), ("engine, memo emptied", "ssl"), ("engine", "rtls"),
          ("rtls", "ssl"), ("engine", "public-key work of a pair"),
          ("engine resumed", "ssl resumed"), ("engine resumed", "engine"),
          ("ssl resumed", "ssl"), ("engine resumed, psk_ke", "ssl resumed"))
GOALS = {("engine", "rtls"): 1.1, ("engine resumed", "ssl resumed"): 2.0,
         ("engine resumed", "engine"): 1.5}

PHASES = (
    "client: ClientConnection() (key share, ClientHello)",
    "server: ClientHello -> ServerHello..Finished flight",
    "client: server flight -> Finished",
    "server: client Finished (-> tickets)",
    "client: tickets",
)


def engine_phases(setting: Setting, count: int, resumed: bool) -> list[float]:
    """Median microseconds of each phase of an engine handshake (see PHASES)."""
    samples = [[] for _ in PHASES]
    clock = time.perf_counter
    server_config = setting.server_config if resumed else setting.full_server_config
    session = setting.engine_session if resumed else None
    for _ in range(count):
        t0 = clock()
        client = ClientConnection(setting.client_config, server_name="localhost",
                                  session=session)
        hello = client.data_to_send()
        t1 = clock()
        server = ServerConnection(server_config)
        server.receive_data(hello)
        flight = server.data_to_send()
        t2 = clock()
        client.receive_data(flight)
        finished = client.data_to_send()
        t3 = clock()
        server.receive_data(finished)
        tickets = server.data_to_send()
        t4 = clock()
        if tickets:
            client.receive_data(tickets)
        t5 = clock()
        if not (client.handshake_complete and server.handshake_complete):
            raise RuntimeError("the engine handshake did not complete")
        for index, (start, end) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4),
                                              (t4, t5))):
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


def ratios(rates: dict) -> dict:
    """(a, b) -> per-round ratios of contender a's pairs/s to contender b's."""
    return {(a, b): [x / y for x, y in zip(rates[a], rates[b])] for a, b in RATIOS
            if a in rates and b in rates}


# --- pytest-benchmark -------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # script mode without pytest installed
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="module")
    def setting():
        with tempfile.TemporaryDirectory() as directory:
            yield prepare(Setting(directory))

    @pytest.mark.benchmark(group="handshake")
    def test_engine_full_handshake(benchmark, setting):
        client, server = benchmark(engine_full, setting)
        assert client.handshake_complete and server.handshake_complete

    @pytest.mark.benchmark(group="handshake")
    def test_ssl_full_handshake(benchmark, setting):
        client, server = benchmark(ssl_full, setting)
        assert client.version() == server.version() == "TLSv1.3"

    @pytest.mark.benchmark(group="handshake-resumed")
    def test_engine_resumed_handshake(benchmark, setting):
        client, server = benchmark(engine_resumed, setting)
        assert client.handshake_complete and server.handshake_complete

    @pytest.mark.benchmark(group="handshake-resumed")
    def test_ssl_resumed_handshake(benchmark, setting):
        client, server = benchmark(ssl_resumed, setting)
        assert client.session_reused

    @pytest.mark.benchmark(group="handshake-ratio")
    def test_ratios_interleaved(benchmark, setting):
        """Medians of per-round ratios, recorded in extra_info; no threshold."""
        result = {}

        def measure():
            result["rates"] = interleaved(setting, rounds=9, per_round=40, clock="cpu")

        benchmark.pedantic(measure, rounds=1, iterations=1)
        rates = result["rates"]
        for name, values in rates.items():
            benchmark.extra_info["%s pairs/s" % name] = statistics.median(values)
        for (a, b), values in ratios(rates).items():
            benchmark.extra_info["%s / %s" % (a, b)] = statistics.median(values)
            print("\n%s / %s: %.2f (median of %d rounds)"
                  % (a, b, statistics.median(values), len(values)))
        assert all(rate > 0 for values in rates.values() for rate in values)


# --- script mode ------------------------------------------------------------------------------


def _profile(setting: Setting, handshake, count: int, title: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        handshake(setting)
    profiler.disable()
    print("\ncProfile of %d %s (client + server), top 20 by own time:" % (count, title))
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(20)
    print("The engine's own functions by cumulative time (where to look first):")
    stats.sort_stats("cumulative").print_stats(r"engine[/\\](tls|verify|records)", 20)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile top 20 of full and resumed engine handshakes")
    parser.add_argument("--profile-count", type=int, default=300)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this thread's processor time (steadier on a "
                        "busy machine)")
    args = parser.parse_args(argv)
    from engine._backend import resolve

    with tempfile.TemporaryDirectory() as directory:
        setting = prepare(Setting(directory))
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
            print("%-28s %7.1f pairs/s (median; min %.1f, max %.1f)"
                  % (name + ":", statistics.median(values), min(values), max(values)))
        for (a, b), values in ratios(rates).items():
            goal = GOALS.get((a, b))
            median = statistics.median(values)
            print("ratio %-40s %.2f (median of per-round ratios; min %.2f, max %.2f)%s"
                  % ("(%s)/(%s):" % (a, b), median, min(values), max(values),
                     "" if goal is None else "  goal >= %.1f: %s"
                     % (goal, "met" if median >= goal else "NOT met")))
        for resumed in (False, True):
            phases = engine_phases(setting, args.per_round, resumed)
            print("\nengine %s handshake by phase (median of %d, microseconds, wall clock):"
                  % ("resumed" if resumed else "full", args.per_round))
            for phase, micros in zip(PHASES, phases):
                print("  %7.1f  %s" % (micros, phase))
            print("  %7.1f  total" % sum(phases))
        if args.profile:
            _profile(setting, engine_full, args.profile_count, "full engine handshakes")
            _profile(setting, engine_resumed, args.profile_count, "resumed engine handshakes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
