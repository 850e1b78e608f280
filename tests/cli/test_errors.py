"""Every command on user errors (missing, unreadable or wrong files, bad numbers, bad addresses):
one line on stderr, exit status 2, no traceback, no password."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from engine.cli import main

def expand(argv, root):
    return [a.replace("{T}", str(root)).replace("{PW}", str(root / "pw")) for a in argv]


PW = ["--password-file", "{PW}"]
SERVER = ["--cert", "{T}/srv.pem", "--key", "{T}/srv.key"]
BAD_INVOCATIONS = [
    ["ca", "init", "{T}/ca"] + PW,
    ["ca", "init", "{T}/junk.pem"] + PW,
    ["ca", "init", "{T}/new", "--days", "abc"] + PW,
    ["ca", "init", "{T}/new", "--days", "nan"] + PW,
    ["ca", "init", "{T}/new", "--days", "inf"] + PW,
    ["ca", "init", "{T}/new", "--key-type", "dsa"] + PW,
    ["ca", "init", "{T}/new", "--password-file", "{T}/a-directory"],
    ["ca", "init", "{T}/new", "--password-file", "{T}/missing"],
    ["ca", "init", "{T}/new", "--password-env", "ENGINE_ROBUSTNESS_UNSET"],
    ["ca", "issue", "{T}/missing", "--server", "x"] + PW,
    ["ca", "issue", "{T}/ca", "--server", "not a name"] + PW,
    ["ca", "issue", "{T}/ca", "--server", "x", "--out", "{T}/missing/x"] + PW,
    ["ca", "revoke", "{T}/ca", "zz"] + PW,
    ["ca", "revoke", "{T}/ca", "-5"] + PW,
    ["ca", "revoke", "{T}/ca", "ff" * 40] + PW,
    ["ca", "revoke", "{T}/ca", "1", "--reason", "boredom"] + PW,
    ["ca", "crl", "{T}/ca", "--out", "{T}/a-directory"] + PW,
    ["ca", "list", "{T}/junk.pem"],
    ["ca", "list", "{T}/a-directory"],
    ["keystore", "create", "{T}/o.p12", "--cert", "{T}/junk.pem", "--key", "{T}/srv.key"] + PW,
    ["keystore", "create", "{T}/o.p12", "--cert", "{T}/a-directory", "--key", "{T}/srv.key"] + PW,
    ["keystore", "create", "{T}/o.p12", "--cert", "{T}/srv.pem", "--key", "{T}/binary"] + PW,
    ["keystore", "create", "{T}/a-directory", "--cert", "{T}/srv.pem", "--key", "{T}/srv.key"] + PW,
    ["keystore", "show", "{T}/junk.pem"] + PW,
    ["keystore", "show", "{T}/a-directory"] + PW,
    ["keystore", "show", "{T}/missing"] + PW,
    ["user", "add", "{T}/users", "bob", "--rounds", "abc"] + PW,
    ["user", "add", "{T}/users", "bob", "--rounds", "99"] + PW,
    ["user", "add", "{T}/users", "bo:b"] + PW,
    ["user", "add", "{T}/missing/users", "bob"] + PW,
    ["user", "check", "{T}/binary", "bob"] + PW,
    ["user", "list", "{T}/a-directory"],
    ["verify", "--trust", "{T}/junk.pem", "{T}/srv.pem"],
    ["verify", "--trust", "{T}/a-directory", "{T}/srv.pem"],
    ["verify", "--trust", "{T}/ca/ca.pem", "{T}/missing"],
    ["verify", "--trust", "{T}/ca/ca.pem", "--crl", "{T}/junk.pem", "{T}/srv.pem"],
    ["verify", "--trust", "{T}/ca/ca.pem", "--jobs", "0", "{T}/srv.pem"],
    ["verify", "--trust", "{T}/ca/ca.pem", "--name", "", "{T}/srv.pem"],
    ["verify", "--trust", "{T}/ca/ca.pem", "--name", "not a name", "{T}/srv.pem"],
    ["s_client", "nohost"],
    ["s_client", "host:abc"],
    ["s_client", "host:99999"],
    ["s_client", "[::1"],
    ["s_client", "127.0.0.1:1", "--no-verify", "--timeout", "nan"],
    ["s_client", "127.0.0.1:1", "--no-verify", "--timeout", "inf"],
    ["s_client", "127.0.0.1:1", "--no-verify", "--idle-timeout", "nan"],
    ["s_client", "127.0.0.1:1", "--no-verify", "--name", "not a name"],
    ["s_client", "127.0.0.1:1", "--trust", "{T}/empty-directory"],
    ["s_client", "127.0.0.1:1", "--trust", "{T}/junk.pem"],
    ["s_client", "127.0.0.1:1", "--no-verify", "--keystore", "{T}/junk.pem"] + PW,
    ["s_client", "127.0.0.1:1", "--no-verify", "--ciphersuites", "TLS_NULL"],
    ["s_server", "--cert", "{T}/junk.pem", "--key", "{T}/junk.pem"],
    ["s_server", "--cert", "{T}/a-directory", "--key", "{T}/a-directory"],
    ["s_server", "--port", "abc"] + SERVER,
    ["s_server", "--port", "99999"] + SERVER,
    ["s_server", "--max-connections", "0"] + SERVER,
    ["s_server", "--cert", "{T}/srv.pem", "--key", "{T}/ca/ca.pem"],
    ["s_server", "--trust", "{T}/junk.pem", "--verify-client", "require"] + SERVER,
    ["s_server", "--keystore", "{T}/a-directory"] + PW,
    ["demo", "--key-type", "dsa"],
    ["demo", "--group", "ffdhe2048"],
    ["nosuchcommand"],
]


@pytest.mark.parametrize("argv", BAD_INVOCATIONS, ids=lambda a: " ".join(a)[:60])
def test_a_user_error_is_one_line_and_exit_2(files, capsys, argv):
    status = main(expand(argv, files))
    out, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("engine: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and (files / "pw").read_text().strip() not in err + out


def test_a_password_env_that_is_not_utf8_is_a_user_error(files, capsys, monkeypatch):
    monkeypatch.setenv("ENGINE_ROBUSTNESS_PW", "zebra\udcffquartz")  # how a Latin-1 byte arrives
    target = files / "latin1-ca"
    status = main(["ca", "init", str(target), "--password-env", "ENGINE_ROBUSTNESS_PW"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "UTF-8" in err
    assert "zebra" not in err and "quartz" not in err
    assert not (target / "index.json").exists()


def test_the_module_entry_point_prints_one_line(files):
    result = subprocess.run(
        [sys.executable, "-m", "engine", "keystore", "show", str(files / "junk.pem"),
         "--password-file", str(files / "pw")],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("engine: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
