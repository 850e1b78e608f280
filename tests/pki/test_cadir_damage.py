"""A CA directory whose index.json or files are damaged: every operation raises a CAError that
names the problem, never a JSONDecodeError, KeyError or AttributeError."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.errors import CAError
from engine.pki.cadir import CADirectory

PASSWORD = b"robustness"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca"
    directory = CADirectory.init(str(path), "Robustness Directory CA", password=PASSWORD)
    serial = directory.issue_server(["localhost"]).certificate.serial_number
    directory.revoke(serial)
    directory.crl()
    return path, serial


@pytest.fixture
def damaged(pristine, tmp_path):
    source, serial = pristine
    path = tmp_path / "ca"
    shutil.copytree(source, path)
    return path, serial


def edit_index(path, change):
    name = path / "index.json"
    index = json.loads(name.read_text())
    change(index)
    name.write_text(json.dumps(index))


OPERATIONS = {
    "open": lambda path, serial: CADirectory.open(str(path)),
    "records": lambda path, serial: CADirectory.open(str(path)).records(),
    "open with the password": lambda path, serial: CADirectory.open(str(path), PASSWORD),
    "crl": lambda path, serial: CADirectory.open(str(path), PASSWORD).crl(),
    "issue": lambda path, serial: CADirectory.open(str(path), PASSWORD).issue_client("bob"),
    "revoke": lambda path, serial: CADirectory.open(str(path), PASSWORD).revoke(serial),
}


def first_serial(index):
    return next(iter(index["issued"]))


DAMAGE = {
    "index not json": lambda p: (p / "index.json").write_bytes(b"{not json"),
    "index empty": lambda p: (p / "index.json").write_bytes(b""),
    "index not utf-8": lambda p: (p / "index.json").write_bytes(b"\xff\xfe\x00"),
    "index nested too deep": lambda p: (p / "index.json").write_bytes(b"[" * 100000 + b"]" * 100000),
    "index a list": lambda p: (p / "index.json").write_bytes(b"[]"),
    "revocation a list": lambda p: edit_index(
        p, lambda i: i["revoked"].__setitem__(first_serial(i), [])),
    "revocation a string": lambda p: edit_index(
        p, lambda i: i["revoked"].__setitem__(first_serial(i), "yesterday")),
    "revocation reason unknown": lambda p: edit_index(
        p, lambda i: i["revoked"][first_serial(i)].__setitem__("reason", "bogus")),
    "revoked serial not hex": lambda p: edit_index(
        p, lambda i: i["revoked"].__setitem__("zz", i["revoked"].pop(first_serial(i)))),
    "revoked serial negative": lambda p: edit_index(
        p, lambda i: i["revoked"].__setitem__("-1", i["revoked"].pop(first_serial(i)))),
    "revoked serial over 20 octets": lambda p: edit_index(
        p, lambda i: i["revoked"].__setitem__("f" * 60, i["revoked"].pop(first_serial(i)))),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damage_is_a_ca_error(damaged, damage, operation):
    path, serial = damaged
    DAMAGE[damage](path)
    before = (path / "index.json").read_bytes()
    try:
        OPERATIONS[operation](path, serial)
    except CAError as exc:
        assert "index.json" in str(exc) and "\n" not in str(exc)
    else:  # an operation that does not read the damaged part may succeed
        reads_revocations = ("crl", "issue", "revoke")
        if not damage.startswith("revoked serial"):  # records follows the issued serials
            reads_revocations += ("records",)
        assert damage.startswith("revo") and operation not in reads_revocations
    assert (path / "index.json").read_bytes() == before  # nothing is lost


@pytest.mark.parametrize("name", ["ca.pem", "ca.p12"])
@pytest.mark.parametrize("kind", ["missing", "garbage", "a directory"])
def test_a_damaged_ca_file_is_a_ca_error(damaged, name, kind):
    path, _ = damaged
    target = path / name
    target.unlink()
    if kind == "garbage":
        target.write_bytes(b"junk")
    elif kind == "a directory":
        target.mkdir()
    with pytest.raises(CAError, match=name.split(".")[0]):
        CADirectory.open(str(path), PASSWORD if name == "ca.p12" else None)


def test_a_missing_issued_certificate_is_a_ca_error(damaged):
    path, serial = damaged
    shutil.rmtree(path / "issued")
    with pytest.raises(CAError, match="no certificate with serial"):
        CADirectory.open(str(path)).issued_certificate(serial)
