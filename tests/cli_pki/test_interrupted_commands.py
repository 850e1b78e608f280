"""Commands killed with SIGKILL at the worst moment, then the next run.

Each command runs in its own process with ``os.fsync`` wrapped: when the file about to be
flushed is the one named, the process kills itself (kill -9), so nothing of its own can clean
up. What the directory holds afterwards is what a power cut or an OOM kill would leave.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from engine.pki.cadir import serial_text

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")

KILLED_AT_FSYNC = r"""
import os, signal, stat, sys

target = sys.argv[1]
real_fsync = os.fsync


def fsync(fd):
    status = os.fstat(fd)
    if stat.S_ISREG(status.st_mode):
        name = os.path.basename(os.readlink("/proc/self/fd/%d" % fd))
        secret = status.st_mode & 0o777 == 0o600
        if (target == "secret" and secret) or (target != "secret" and target in name):
            os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(fd)


os.fsync = fsync
from engine.cli import main
sys.exit(main(sys.argv[2:]))
"""

KILLED_BEFORE_THE_INDEX = r"""
import os, signal, sys
from engine.pki import cadir

cadir.CADirectory._write_index = lambda self, index: os.kill(os.getpid(), signal.SIGKILL)
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_killed(cli, script: str, *argv) -> None:
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, argv)], cwd=cli.tmp_path,
        capture_output=True, timeout=120)
    assert result.returncode == -9, result.stderr.decode()


def files_under(path) -> list:
    return sorted(os.path.relpath(os.path.join(folder, name), path)
                  for folder, _, names in os.walk(path) for name in names)


def test_a_kill_after_the_key_is_written_leaves_a_recorded_usable_certificate(cli, ca_dir):
    """The key first, the index last: killed in between, the key is there, and the
    certificate, which may be in use, is listed and can be revoked."""
    run_killed(cli, KILLED_BEFORE_THE_INDEX, "ca", "issue", "ca", "--server", "crash.test",
               "--out", "crash", "--password-file", cli.ca_password)
    key = serialization.load_pem_private_key((cli.tmp_path / "crash.key").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((cli.tmp_path / "crash.pem").read_bytes())
    assert key.public_key() == cert.public_key()
    assert cli("ca", "list", "ca") == 0
    assert "%x" % cert.serial_number in cli.out and "crash.test" in cli.out
    assert cli.ca("revoke", "ca", "%x" % cert.serial_number) == 0
    index = json.loads((ca_dir / "index.json").read_text())
    assert serial_text(cert.serial_number) in index["revoked"]


def test_a_kill_while_the_key_is_written_leaves_no_key_behind(cli, ca_dir):
    """The unencrypted key never has a temporary name: killed while writing it, the
    directory holds no trace of it."""
    run_killed(cli, KILLED_AT_FSYNC, "secret", "ca", "issue", "ca", "--server", "k.test",
               "--out", "k", "--password-file", cli.ca_password)
    for name in files_under(cli.tmp_path):
        assert b"PRIVATE KEY" not in (cli.tmp_path / name).read_bytes(), name
    assert not (cli.tmp_path / "k.pem").exists()
    assert json.loads((ca_dir / "index.json").read_text())["issued"] == {}
    assert cli.ca("issue", "ca", "--server", "k.test", "--out", "k") == 0  # the name is free


def test_temporaries_of_a_killed_command_are_removed_by_the_next_run(cli, ca_dir):
    run_killed(cli, KILLED_AT_FSYNC, ".published.pem.", "ca", "crl", "ca", "--out",
               "published.pem", "--password-file", cli.ca_password)
    run_killed(cli, KILLED_AT_FSYNC, ".crl.pem.", "ca", "crl", "ca",
               "--password-file", cli.ca_password)
    left = [name for name in files_under(cli.tmp_path) if name.endswith(".tmp")]
    assert len(left) == 2, left
    old = time.time() - 60  # leftovers are a while old by the next run
    for name in left:
        os.utime(cli.tmp_path / name, (old, old))
    assert cli.ca("crl", "ca", "--out", "published.pem") == 0
    assert [name for name in files_under(cli.tmp_path) if name.endswith(".tmp")] == []


def test_a_temporary_being_written_by_a_live_command_is_left_alone(cli, ca_dir):
    from engine import _fsutil

    fd, temp = _fsutil._temporary(str(cli.tmp_path / "published.pem"), b"partial", 0o644)
    try:
        old = time.time() - 60
        os.utime(temp, (old, old))
        assert cli.ca("crl", "ca", "--out", "published.pem") == 0
        assert os.path.exists(temp)  # still locked by its (live) writer
    finally:
        os.close(fd)
        os.unlink(temp)
