"""What the commands say when something is off: the file at fault is named, argparse errors
carry the valid choices and the usage, and ``engine`` alone shows what it can do."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.cli import main

def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(status, err) -> str:
    assert status == 2 and err.startswith("engine: error: ") and err.count("\n") == 1, err
    return err


def test_verify_takes_a_trust_directory_as_s_client_does(files, capsys):
    status, out, err = run(capsys, "verify", "--trust", files / "trust", files / "srv.pem")
    assert (status, err) == (0, "")
    assert out.startswith("%s: ok" % (files / "srv.pem"))


def test_a_garbage_trust_file_is_named(files, capsys):
    status, _, err = run(capsys, "verify", "--trust", files / "junk.pem", files / "srv.pem")
    assert "junk.pem" in one_line_error(status, err)


@pytest.fixture
def damaged_ca(files, tmp_path):
    """A copy of the CA whose index.json the test damages."""
    import shutil

    copy = tmp_path / "ca"
    shutil.copytree(files / "ca", copy)
    return copy


def damage(index: dict, how: str) -> None:
    serial, entry = next(iter(index["issued"].items()))
    if how == "time without its zone":
        entry["issued_at"] = "2024-01-01T00:00:00"
        index["issued"]["ab"] = dict(entry, issued_at="2024-01-01T00:00:00+00:00")
    elif how == "subject of the wrong type":
        entry["subject"] = None
    elif how == "names of the wrong type":
        entry["names"] = 5
    elif how == "entry that is not an object":
        index["issued"][serial] = "x"
    elif how == "unknown kind":
        entry["kind"] = "toaster"


@pytest.mark.parametrize("how", ["time without its zone", "subject of the wrong type",
                                 "names of the wrong type", "entry that is not an object",
                                 "unknown kind"])
def test_ca_list_on_a_damaged_index_names_index_json(damaged_ca, capsys, how):
    index = json.loads((damaged_ca / "index.json").read_text())
    damage(index, how)
    (damaged_ca / "index.json").write_text(json.dumps(index))
    status, _, err = run(capsys, "ca", "list", damaged_ca)
    assert "index.json" in one_line_error(status, err)


@pytest.mark.parametrize("argv,choices,usage", [
    (["ca"], "one of init, issue, revoke, crl, list", "usage: engine ca [-h] ACTION"),
    (["keystore"], "one of create, show", "usage: engine keystore [-h] ACTION"),
    (["ca", "init", "x", "--key-type", "dsa"], "choose from 'p256'", "usage: engine ca init"),
    (["nosuchcommand"], "choose from 'ca'", "usage: engine [-h] [--version] COMMAND"),
    (["ca", "issue", "x"], "--server --client", "usage: engine ca issue [-h] (--server NAME"),
])
def test_argparse_errors_give_the_valid_choices_and_the_usage(capsys, argv, choices, usage):
    status, _, err = run(capsys, *argv)
    assert choices in one_line_error(status, err) and usage in err


def test_engine_alone_prints_the_help(capsys):
    status, out, err = run(capsys)
    assert (status, err) == (0, "")
    assert out.startswith("usage: engine") and "keystore" in out and "verify" in out


def test_engine_alone_from_the_shell_prints_the_help():
    result = subprocess.run([sys.executable, "-m", "engine"], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ))
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: engine")
