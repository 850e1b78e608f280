"""PasswordFile: bcrypt administrator accounts."""

from __future__ import annotations

import os

import bcrypt
import pytest

from engine import auth
from engine.auth import PasswordFile
from engine.errors import AuthError

ROUNDS = 4  # the lowest bcrypt cost, to keep tests fast


@pytest.fixture
def accounts(tmp_path):
    return PasswordFile(tmp_path / "admins", rounds=ROUNDS)


def test_added_user_verifies_with_the_right_password_only(accounts):
    accounts.add("admin", "correct horse")
    assert accounts.verify("admin", "correct horse") is True
    assert accounts.verify("admin", "wrong horse") is False
    assert accounts.verify("admin", b"correct horse") is True


def test_file_is_name_colon_bcrypt_hash_lines_private_to_owner(accounts):
    accounts.add("alice", "pw1")
    accounts.add("bob", "pw2")
    lines = open(accounts.path, "rb").read().splitlines()
    assert [line.split(b":")[0] for line in lines] == [b"alice", b"bob"]
    assert all(line.split(b":", 1)[1].startswith(b"$2b$04$") for line in lines)
    assert os.stat(accounts.path).st_mode & 0o777 == 0o600


def test_hashes_of_short_passwords_are_plain_bcrypt(accounts):
    accounts.add("alice", "pw1")
    hashed = open(accounts.path, "rb").read().split(b":", 1)[1].strip()
    assert bcrypt.checkpw(b"pw1", hashed)


def test_unknown_user_is_false_not_an_error(accounts):
    accounts.add("alice", "pw")
    assert accounts.verify("mallory", "pw") is False


def test_unknown_user_check_does_bcrypt_work_at_the_file_cost(accounts, monkeypatch):
    accounts.add("alice", "pw")
    checked = []
    real = bcrypt.checkpw
    monkeypatch.setattr(auth.bcrypt, "checkpw", lambda p, h: checked.append(h) or real(p, h))
    assert accounts.verify("mallory", "pw") is False
    assert len(checked) == 1 and checked[0].startswith(b"$2b$04$")


def test_adding_an_existing_user_is_refused(accounts):
    accounts.add("alice", "pw")
    with pytest.raises(AuthError, match="already exists"):
        accounts.add("alice", "other")
    assert accounts.verify("alice", "pw")


def test_change_replaces_the_password(accounts):
    accounts.add("alice", "old")
    accounts.change("alice", "new")
    assert accounts.verify("alice", "new") and not accounts.verify("alice", "old")


def test_change_or_remove_of_unknown_user_is_refused(accounts):
    accounts.add("alice", "pw")
    with pytest.raises(AuthError, match="no user"):
        accounts.change("bob", "pw")
    with pytest.raises(AuthError, match="no user"):
        accounts.remove("bob")


def test_remove_deletes_only_that_user(accounts):
    accounts.add("alice", "pw")
    accounts.add("bob", "pw")
    accounts.remove("alice")
    assert accounts.users() == ["bob"]
    assert accounts.verify("alice", "pw") is False


def test_long_passwords_count_beyond_72_bytes(accounts):
    base = "x" * 72
    accounts.add("alice", base + "A")
    assert accounts.verify("alice", base + "A")
    assert not accounts.verify("alice", base + "B")
    assert not accounts.verify("alice", base)


def test_nul_bytes_are_not_a_place_to_cut(accounts):
    accounts.add("alice", b"ab\x00cd")
    assert accounts.verify("alice", b"ab\x00cd")
    assert not accounts.verify("alice", b"ab\x00ce")
    assert not accounts.verify("alice", b"ab")


def test_empty_password_and_bad_names_are_refused(accounts):
    with pytest.raises(AuthError, match="empty"):
        accounts.add("alice", "")
    for name in ("", "a:b", "a b", "x" * 65):
        with pytest.raises(AuthError):
            accounts.add(name, "pw")


def test_cost_is_configurable_and_checked(tmp_path):
    accounts = PasswordFile(tmp_path / "f", rounds=5)
    accounts.add("alice", "pw")
    assert b"$2b$05$" in open(accounts.path, "rb").read()
    with pytest.raises(AuthError, match="cost"):
        PasswordFile(tmp_path / "f", rounds=3)


def test_missing_file_reads_as_no_users_but_cannot_be_checked(accounts):
    assert accounts.users() == []
    with pytest.raises(AuthError, match="does not exist"):
        accounts.verify("alice", "pw")


def test_damaged_file_is_reported_with_line_number(accounts):
    with open(accounts.path, "w") as fh:
        fh.write("alice:$2b$04$abc\nthis is not an entry\n")
    with pytest.raises(AuthError, match="line 2"):
        accounts.users()


def test_damaged_hash_is_an_auth_error(accounts):
    with open(accounts.path, "w") as fh:
        fh.write("alice:$2b$04$short\n")
    with pytest.raises(AuthError, match="damaged"):
        accounts.verify("alice", "pw")


ADD_USERS = """
import sys
from engine.auth import PasswordFile
accounts = PasswordFile(sys.argv[1], rounds=4)
for i in range(10):
    accounts.add("%s%d" % (sys.argv[2], i), "pw")
"""


def test_two_processes_adding_at_once_lose_no_user(accounts):
    import subprocess
    import sys

    workers = [subprocess.Popen([sys.executable, "-c", ADD_USERS, accounts.path, tag],
                                stderr=subprocess.PIPE) for tag in ("a", "b")]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()
    assert sorted(accounts.users()) == sorted("%s%d" % (t, i) for t in "ab" for i in range(10))
