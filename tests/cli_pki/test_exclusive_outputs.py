"""Two commands writing the same output: one succeeds, the other fails with one line, exit 2.

The early check for an existing output happens before any work; the file is then created
exclusively, so a command that loses the race while it works (another one created the file
meanwhile) fails too, and overwrites nothing. Here the other command's file appears at the
worst moment: after the early check, before the write.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.cli import ca as ca_command
from engine.cli import keystore as keystore_command


@pytest.fixture
def pem_files(cli, ca_dir):
    assert cli.ca("issue", "ca", "--server", "src.test", "--out", "src") == 0
    return cli.tmp_path / "src.pem", cli.tmp_path / "src.key"


def appears_meanwhile(monkeypatch, module, function: str, path, content: bytes) -> None:
    """``path`` is created, as by another command, when ``module.function`` is called."""
    real = getattr(module, function)

    def racing(*args, **kwargs):
        result = real(*args, **kwargs)
        if not path.exists():
            path.write_bytes(content)
        return result

    monkeypatch.setattr(module, function, racing)


@pytest.mark.parametrize("taken", ["race.key", "race.pem"])
def test_ca_issue_out_that_appears_meanwhile_is_not_overwritten(cli, ca_dir, monkeypatch,
                                                                 taken):
    appears_meanwhile(monkeypatch, ca_command, "_open", cli.tmp_path / taken, b"theirs")
    cli.fails("ca", "issue", "ca", "--server", "race.test", "--out", "race",
              "--password-file", cli.ca_password, match="%s exists" % taken)
    assert (cli.tmp_path / taken).read_bytes() == b"theirs"
    assert sorted(p.name for p in cli.tmp_path.glob("race.*")) == [taken]  # ours all gone
    assert json.loads((ca_dir / "index.json").read_text())["issued"] == {}  # nothing recorded
    assert list((ca_dir / "issued").iterdir()) == []


def test_ca_issue_keystore_that_appears_meanwhile_is_not_overwritten(cli, ca_dir, monkeypatch):
    appears_meanwhile(monkeypatch, ca_command, "read_out_password", cli.tmp_path / "race.p12",
                      b"theirs")
    cli.fails("ca", "issue", "ca", "--client", "race", "--keystore", "race.p12",
              "--out-password-file", cli.out_password, "--kdf-rounds", 1000,
              "--password-file", cli.ca_password, match="race.p12 exists")
    assert (cli.tmp_path / "race.p12").read_bytes() == b"theirs"
    assert json.loads((ca_dir / "index.json").read_text())["issued"] == {}


def test_keystore_create_that_appears_meanwhile_is_not_overwritten(cli, pem_files, monkeypatch):
    cert, key = pem_files
    appears_meanwhile(monkeypatch, keystore_command, "read_password", cli.tmp_path / "o.p12",
                      b"theirs")
    cli.fails("keystore", "create", "o.p12", "--cert", cert, "--key", key, "--kdf-rounds", 1000,
              "--password-file", cli.out_password, match="o.p12 exists")
    assert (cli.tmp_path / "o.p12").read_bytes() == b"theirs"


def test_a_dangling_symbolic_link_counts_as_taken(cli, pem_files):
    cert, key = pem_files
    (cli.tmp_path / "link.p12").symlink_to(cli.tmp_path / "elsewhere.p12")
    cli.fails("keystore", "create", "link.p12", "--cert", cert, "--key", key,
              "--password-file", cli.out_password, match="link.p12 exists")
    assert not (cli.tmp_path / "elsewhere.p12").exists()


CREATE = """
import sys
from engine.cli import main
sys.exit(main(["keystore", "create", "same.p12", "--cert", sys.argv[1], "--key", sys.argv[2],
               "--password-file", sys.argv[3], "--kdf-rounds", "200000"]))
"""


def test_two_keystore_creates_of_one_path_at_once_one_wins(cli, pem_files):
    """Real processes: both pass the early check while the other derives its key."""
    cert, key = pem_files
    workers = [subprocess.Popen([sys.executable, "-c", CREATE, str(cert), str(key),
                                 str(cli.out_password)], cwd=cli.tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(2)]
    results = [(w.wait(timeout=300), w.stderr.read().decode()) for w in workers]
    assert sorted(status for status, _ in results) == [0, 2], results
    loser = next(err for status, err in results if status == 2)
    assert loser.count("\n") == 1 and "same.p12 exists" in loser
