"""``engine console init|run`` and ``engine serve-asgi`` as a user runs them."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import textwrap

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.cli import main
from engine.pki import CertificateAuthority

from .conftest import CA_PASSWORD

httpx = pytest.importorskip("httpx")


@pytest.fixture
def passwords(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSOLE_CA_PASSWORD", CA_PASSWORD.decode())
    monkeypatch.setenv("ADAM_PASSWORD", "adam's password")
    return ["--ca-password-env", "CONSOLE_CA_PASSWORD", "--password-env", "ADAM_PASSWORD",
            "--rounds", "4"]


def test_init_makes_the_console_and_says_which_ca_to_import(tmp_path, passwords, capsys):
    target = tmp_path / "console"
    assert main(["console", "init", str(target), *passwords]) == 0
    out = capsys.readouterr().out
    assert str(target / "ca" / "ca.pem") in out
    assert sorted(os.listdir(target)) == [".admins.lock", "admins", "audit.log", "ca",
                                          "server.p12"]
    assert (target / "admins").read_text().startswith("adam:$2b$04$")


def test_init_of_an_existing_console_is_one_line_and_exit_2(tmp_path, passwords, capsys):
    target = tmp_path / "console"
    main(["console", "init", str(target), *passwords])
    capsys.readouterr()
    assert main(["console", "init", str(target), *passwords]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a console" in err


def test_a_bad_administrator_name_writes_nothing(tmp_path, passwords, capsys):
    target = tmp_path / "console"
    assert main(["console", "init", str(target), "--admin", "a:b", *passwords]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not target.exists()


def test_run_with_a_wrong_password_is_one_line_and_exit_2(tmp_path, passwords, capsys,
                                                          monkeypatch):
    target = tmp_path / "console"
    main(["console", "init", str(target), *passwords])
    capsys.readouterr()
    monkeypatch.setenv("WRONG", "not the CA password")
    assert main(["console", "run", str(target), "--password-env", "WRONG"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "wrong password" in err


def test_run_of_a_directory_that_is_no_console_is_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PW", "x")
    assert main(["console", "run", str(tmp_path), "--password-env", "PW"]) == 2
    assert "not a console directory" in capsys.readouterr().err


def _started(process) -> str:
    line = process.stdout.readline()
    assert line, process.stderr.read()
    return line


def test_run_serves_the_console_until_interrupted(tmp_path, passwords):
    target = tmp_path / "console"
    assert main(["console", "init", str(target), *passwords]) == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "console", "run", str(target), "--port", "0",
         "--password-env", "CONSOLE_CA_PASSWORD"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _started(process)
        assert line.startswith("engine console: https://admin.localhost:")
        port = int(line.split("https://admin.localhost:")[1].split("/")[0])
        with httpx.Client(verify=ssl.create_default_context(
                cafile=str(target / "ca" / "ca.pem"))) as http:
            crl = http.get("https://localhost:%d/crl.pem" % port)
            assert crl.text.startswith("-----BEGIN X509 CRL-----")
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert CA_PASSWORD.decode() not in err
    log = (target / "audit.log").read_text()
    assert '"action": "console started"' in log and '"action": "console stopped"' in log


def test_serve_asgi_serves_an_application_module(tmp_path, monkeypatch):
    ca = CertificateAuthority.create_root("serve-asgi test CA")
    ca.issue_server(["localhost"]).keystore().save(tmp_path / "server.p12", b"pw",
                                                   kdf_rounds=1000)
    (tmp_path / "ca.pem").write_bytes(ca.certificate.public_bytes(Encoding.PEM))
    (tmp_path / "hello.py").write_text(textwrap.dedent("""
        async def app(scope, receive, send):
            if scope["type"] != "http":
                return
            body = ("%s %s" % (scope["scheme"], scope["extensions"]["tls"]["group"])).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
    """))
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "serve-asgi", "hello:app", "--app-dir", str(tmp_path),
         "--keystore", str(tmp_path / "server.p12"), "--password-env", "KS", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "KS": "pw"})
    try:
        line = _started(process)
        url = line.split(" on ")[1].split(",")[0].strip()
        with httpx.Client(verify=ssl.create_default_context(
                cafile=str(tmp_path / "ca.pem"))) as http:
            answer = http.get(url.replace("127.0.0.1", "localhost")).text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert answer.startswith("https ")


def test_serve_asgi_with_an_unknown_application_is_exit_2(tmp_path, capsys):
    assert main(["serve-asgi", "no_such_module:app", "--app-dir", str(tmp_path),
                 "--cert", "x", "--key", "y"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_demo_ends_by_pointing_to_the_console():
    demo = subprocess.run([sys.executable, "-m", "engine", "demo"], capture_output=True,
                          text=True, timeout=120)
    assert demo.returncode == 0
    last = demo.stdout.rstrip().splitlines()[-1].strip()
    assert last.startswith("engine console init DIR && engine console run DIR")
