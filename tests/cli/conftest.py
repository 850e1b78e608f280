"""Files for the tests of the command line as a whole (engine.cli): a password file, a CA with
a server certificate, a trust directory, and files of the wrong kind."""

from __future__ import annotations

import pytest

from engine.cli import main

PASSWORD = "cli-test-secret"


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    (root / "pw").write_text(PASSWORD + "\n")
    (root / "junk.pem").write_bytes(b"junk")
    (root / "binary").write_bytes(b"\xff\xfe\x00\x01" * 10)
    (root / "a-directory").mkdir()
    (root / "empty-directory").mkdir()
    pw = ["--password-file", str(root / "pw")]
    assert main(["ca", "init", str(root / "ca"), "--kdf-rounds", "1000"] + pw) == 0
    assert main(["ca", "issue", str(root / "ca"), "--server", "localhost",
                 "--out", str(root / "srv")] + pw) == 0
    (root / "trust").mkdir()
    (root / "trust" / "root.pem").write_bytes((root / "ca" / "ca.pem").read_bytes())
    return root
