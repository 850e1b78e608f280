"""CADirectory: a CA on disk that survives crashes and concurrent commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cryptography import x509

from engine import _fsutil
from engine.errors import CAError
from engine.pki import CADirectory, RevocationList, TrustStore
from engine.pki import cadir as cadir_module

PASSWORD = b"ca password"
ROUNDS = 1000


@pytest.fixture
def ca_dir(tmp_path):
    return CADirectory.init(tmp_path / "ca", "Disk Root CA", password=PASSWORD, kdf_rounds=ROUNDS)


def snapshot(path):
    """Every file under path (but the lock) with its bytes."""
    files = {}
    for folder, _, names in os.walk(path):
        for name in names:
            if name != ".lock":
                full = os.path.join(folder, name)
                with open(full, "rb") as fh:
                    files[os.path.relpath(full, path)] = fh.read()
    return files


def assert_consistent(path):
    """The index and the files agree: each issued serial has its certificate, the CRL parses."""
    directory = CADirectory.open(path, PASSWORD)
    for record in directory.records():
        assert directory.issued_certificate(record.serial).serial_number == record.serial
    directory.current_crl().check(directory.certificate)
    return directory


def test_init_lays_out_the_directory(ca_dir):
    names = set(os.listdir(ca_dir.path))
    assert {"ca.p12", "ca.pem", "crl.pem", "index.json", "issued"} <= names
    assert os.stat(os.path.join(ca_dir.path, "ca.p12")).st_mode & 0o777 == 0o600
    assert TrustStore.from_pem(os.path.join(ca_dir.path, "ca.pem")).certificates == [
        ca_dir.certificate]
    assert ca_dir.current_crl().crl_number == 1


def test_init_twice_is_refused(ca_dir):
    with pytest.raises(CAError, match="already holds a CA"):
        CADirectory.init(ca_dir.path, "Again", password=PASSWORD, kdf_rounds=ROUNDS)


def test_init_refuses_a_directory_with_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CAError, match="not empty"):
        CADirectory.init(tmp_path, "X", password=PASSWORD, kdf_rounds=ROUNDS)


def test_open_with_wrong_password_is_a_ca_error(ca_dir):
    with pytest.raises(CAError, match="wrong password"):
        CADirectory.open(ca_dir.path, b"nope")


def test_open_of_a_plain_directory_is_refused(tmp_path):
    with pytest.raises(CAError, match="not a CA directory"):
        CADirectory.open(tmp_path, PASSWORD)


def test_damaged_index_is_reported(ca_dir):
    with open(os.path.join(ca_dir.path, "index.json"), "w") as fh:
        fh.write("{not json")
    with pytest.raises(CAError, match="damaged"):
        CADirectory.open(ca_dir.path, PASSWORD)


def test_issue_records_serial_and_writes_certificate(ca_dir):
    issued = ca_dir.issue_server(["db.test", "10.1.2.3"])
    reopened = CADirectory.open(ca_dir.path, PASSWORD)
    [record] = reopened.records()
    assert record.serial == issued.serial_number and record.kind == "server"
    assert record.names == ("db.test", "10.1.2.3") and record.revoked is None
    assert reopened.issued_certificate(record.serial) == issued.certificate
    issued.certificate.verify_directly_issued_by(ca_dir.certificate)


def test_revoke_then_crl_lists_the_serial_with_increasing_number(ca_dir):
    issued = ca_dir.issue_client("eve")
    ca_dir.revoke(issued.serial_number, reason=x509.ReasonFlags.key_compromise)
    crl = ca_dir.crl()
    assert crl.crl_number == 2
    assert crl.lookup(issued.serial_number).reason == x509.ReasonFlags.key_compromise
    assert RevocationList.load(os.path.join(ca_dir.path, "crl.pem")).to_der() == crl.to_der()
    assert ca_dir.crl().crl_number == 3
    assert ca_dir.records()[0].revoked.reason == x509.ReasonFlags.key_compromise


def test_revoking_an_unknown_serial_is_refused(ca_dir):
    with pytest.raises(CAError, match="not issued by this CA"):
        ca_dir.revoke(12345)


def test_revoking_twice_is_refused(ca_dir):
    serial = ca_dir.issue_client("twice").serial_number
    ca_dir.revoke(serial)
    with pytest.raises(CAError, match="already revoked"):
        ca_dir.revoke(serial)


def test_serial_text_round_trips():
    assert cadir_module.parse_serial(cadir_module.serial_text(0xABCDEF)) == 0xABCDEF
    assert cadir_module.parse_serial("0xAB:CD:EF") == 0xABCDEF
    with pytest.raises(CAError):
        cadir_module.parse_serial("zz")


class Crash(Exception):
    """Stands for the process dying between two writes."""


def crash_after(monkeypatch, writes):
    """Let ``writes`` atomic writes through, then fail the next one."""
    done = []
    real = _fsutil.atomic_write

    def flaky(path, data, mode=0o644):
        if len(done) >= writes:
            raise Crash(path)
        done.append(path)
        real(path, data, mode)

    monkeypatch.setattr(cadir_module, "atomic_write", flaky)
    return done


def test_a_failed_index_write_leaves_the_directory_as_before(ca_dir, monkeypatch):
    """Without ``deliver`` nothing went out: the CA's own copy goes too."""
    ca_dir.issue_client("before")
    before = snapshot(ca_dir.path)
    crash_after(monkeypatch, 0)
    with pytest.raises(Crash, match="index.json"):
        ca_dir.issue_client("lost")
    monkeypatch.undo()
    assert snapshot(ca_dir.path) == before
    assert_consistent(ca_dir.path)


def test_the_key_is_delivered_before_the_index_records_the_certificate(ca_dir, tmp_path):
    seen = []

    def deliver(issued):
        serial = cadir_module.serial_text(issued.serial_number)
        with open(os.path.join(ca_dir.path, "index.json")) as fh:
            seen.append(serial in json.load(fh)["issued"])
        issued.keystore().save(tmp_path / "out.p12", PASSWORD, kdf_rounds=ROUNDS)

    issued = ca_dir.issue_server(["deliver.test"], deliver=deliver)
    assert seen == [False]
    assert [r.serial for r in ca_dir.records()] == [issued.serial_number]


def test_a_failed_delivery_records_nothing(ca_dir):
    before = snapshot(ca_dir.path)

    def deliver(issued):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        ca_dir.issue_client("undelivered", deliver=deliver)
    assert snapshot(ca_dir.path) == before


def test_a_certificate_delivered_before_a_crash_is_recorded_by_the_next_command(
        ca_dir, monkeypatch, tmp_path):
    delivered = []
    crash_after(monkeypatch, 0)  # the index write fails, after the delivery
    with pytest.raises(Crash, match="index.json"):
        ca_dir.issue_server(["crash.test"], deliver=delivered.append)
    monkeypatch.undo()
    serial = delivered[0].serial_number
    reader = CADirectory.open(ca_dir.path)
    record = reader.records()[0]  # listed at once, and revocable
    assert (record.serial, record.kind, record.names) == (serial, "server", ("crash.test",))
    ca_dir.revoke(serial)
    with open(os.path.join(ca_dir.path, "index.json")) as fh:
        index = json.load(fh)
    assert cadir_module.serial_text(serial) in index["issued"]
    assert_consistent(ca_dir.path)
    assert serial in ca_dir.crl()


def test_a_stray_certificate_of_another_ca_is_not_recorded(ca_dir, tmp_path):
    other = CADirectory.init(tmp_path / "other", "Other", password=PASSWORD, kdf_rounds=ROUNDS)
    stray = other.issue_client("stranger")
    name = cadir_module.serial_text(stray.serial_number) + ".pem"
    with open(os.path.join(other.path, "issued", name), "rb") as src:
        with open(os.path.join(ca_dir.path, "issued", name), "wb") as dst:
            dst.write(src.read())
    with open(os.path.join(ca_dir.path, "issued", "junk.pem"), "wb") as fh:
        fh.write(b"junk")
    assert ca_dir.records() == []
    ca_dir.issue_client("mine")
    assert [r.subject for r in ca_dir.records()] == ["CN=mine"]


def test_crash_while_writing_the_crl_keeps_the_old_crl_and_index(ca_dir, monkeypatch):
    ca_dir.revoke(ca_dir.issue_client("r").serial_number)
    before = snapshot(ca_dir.path)
    crash_after(monkeypatch, 0)
    with pytest.raises(Crash):
        ca_dir.crl()
    monkeypatch.undo()
    assert snapshot(ca_dir.path) == before
    assert_consistent(ca_dir.path)


def test_crash_between_crl_and_index_never_reuses_a_crl_number(ca_dir, monkeypatch):
    crash_after(monkeypatch, 1)
    with pytest.raises(Crash, match="index.json"):
        ca_dir.crl()
    monkeypatch.undo()
    written = ca_dir.current_crl().crl_number
    assert ca_dir.crl().crl_number == written + 1


def test_crash_inside_rename_leaves_no_temporary_files(ca_dir, monkeypatch):
    before = snapshot(ca_dir.path)

    def no_rename(src, dst):
        raise Crash(dst)

    monkeypatch.setattr(_fsutil.os, "replace", no_rename)
    with pytest.raises(Crash):
        ca_dir.issue_server(["x.test"])
    monkeypatch.undo()
    assert snapshot(ca_dir.path) == before


def test_crash_during_revoke_leaves_serial_unrevoked(ca_dir, monkeypatch):
    serial = ca_dir.issue_client("kept").serial_number
    crash_after(monkeypatch, 0)
    with pytest.raises(Crash):
        ca_dir.revoke(serial)
    monkeypatch.undo()
    assert assert_consistent(ca_dir.path).records()[0].revoked is None


ISSUE_MANY = """
import sys
from engine.pki import CADirectory
directory = CADirectory.open(sys.argv[1], sys.argv[2].encode())
for i in range(int(sys.argv[3])):
    print(directory.issue_client("%s-%d" % (sys.argv[4], i)).serial_number, flush=True)
"""


def test_two_processes_issuing_at_once_lose_no_serial(ca_dir):
    workers = [subprocess.Popen([sys.executable, "-c", ISSUE_MANY, ca_dir.path,
                                 PASSWORD.decode(), "8", tag],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for tag in ("a", "b")]
    serials = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err.decode()
        serials += [int(line) for line in out.split()]
    with open(os.path.join(ca_dir.path, "index.json")) as fh:
        index = json.load(fh)
    assert len(serials) == 16
    assert {int(s, 16) for s in index["issued"]} == set(serials)
    assert_consistent(ca_dir.path)


def test_open_without_password_reads_but_cannot_change(ca_dir):
    serial = ca_dir.issue_client("reader").serial_number
    reader = CADirectory.open(ca_dir.path)
    assert [r.serial for r in reader.records()] == [serial]
    assert reader.certificate == ca_dir.certificate
    with pytest.raises(CAError, match="without the CA password"):
        reader.issue_client("nope")
    with pytest.raises(CAError, match="without the CA password"):
        reader.revoke(serial)


def test_init_with_bad_arguments_creates_nothing(tmp_path):
    with pytest.raises(CAError, match="password"):
        CADirectory.init(tmp_path / "a", "X", password=b"")
    with pytest.raises(CAError, match="unknown key type"):
        CADirectory.init(tmp_path / "b", "X", key_type="dsa", password=PASSWORD)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_init_after_a_crash_midway_starts_again(tmp_path, monkeypatch):
    crash_after(monkeypatch, 2)  # ca.p12 and ca.pem written, then the crash
    with pytest.raises(Crash):
        CADirectory.init(tmp_path / "ca", "X", password=PASSWORD, kdf_rounds=ROUNDS)
    monkeypatch.undo()
    with pytest.raises(CAError, match="not a CA directory"):
        CADirectory.open(tmp_path / "ca", PASSWORD)
    directory = CADirectory.init(tmp_path / "ca", "X", password=PASSWORD, kdf_rounds=ROUNDS)
    assert_consistent(directory.path)


def test_a_ca_key_from_another_directory_is_noticed(tmp_path, ca_dir):
    other = CADirectory.init(tmp_path / "other", "Other", password=PASSWORD, kdf_rounds=ROUNDS)
    for name in ("ca.p12", "ca.pem"):
        os.replace(os.path.join(other.path, name), os.path.join(ca_dir.path, name))
    with pytest.raises(CAError, match="not the one index.json was made for"):
        CADirectory.open(ca_dir.path, PASSWORD)
    with pytest.raises(CAError, match="not the one index.json was made for"):
        CADirectory.open(ca_dir.path)
