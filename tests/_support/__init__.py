"""What the test folders share: the session's certificate factory (certificates.py), the
in-memory client-server loop (pairs.py), peers over sockets (peers.py), timing comparisons
(timing.py) and the backends this build can run (backends.py). tests/conftest.py makes
fixtures of them for every folder."""
