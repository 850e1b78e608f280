from __future__ import annotations

import pytest

from engine.cli import main


class Cli:
    """Runs `engine ...` in-process and keeps what it printed."""

    def __init__(self, capsys, tmp_path):
        self.capsys = capsys
        self.tmp_path = tmp_path
        self.ca_password = tmp_path / "ca-password"
        self.ca_password.write_text("ca secret\n")
        self.out_password = tmp_path / "out-password"
        self.out_password.write_text("keystore secret\n")

    def __call__(self, *argv):
        self.capsys.readouterr()
        status = main([str(a) for a in argv])
        self.out, self.err = self.capsys.readouterr()
        return status

    def fails(self, *argv, match=""):
        """The command exits 2 with a single 'engine: error:' line holding ``match``."""
        status = self(*argv)
        assert status == 2, (self.out, self.err)
        lines = self.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("engine: error: "), self.err
        assert match in lines[0], lines[0]
        return lines[0]

    def ca(self, action, *argv):
        return self("ca", action, *argv, "--password-file", self.ca_password)


@pytest.fixture
def cli(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Cli(capsys, tmp_path)


@pytest.fixture
def ca_dir(cli):
    assert cli.ca("init", "ca", "--cn", "CLI Root", "--kdf-rounds", 1000) == 0
    return cli.tmp_path / "ca"
