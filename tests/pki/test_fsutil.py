"""atomic_write and create_new: the old content or the new, never a mixture, no stray files;
create_new exclusive against every other writer, and a secret never under a temporary name."""

from __future__ import annotations

import os
import threading
import time

import pytest

from engine import _fsutil
from engine._fsutil import atomic_write


def test_writes_new_file_with_mode(tmp_path):
    target = tmp_path / "f"
    atomic_write(target, b"data", 0o600)
    assert target.read_bytes() == b"data"
    assert target.stat().st_mode & 0o777 == 0o600


def test_replaces_existing_content_and_mode(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    atomic_write(target, b"new", 0o644)
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o644


def test_failure_before_rename_keeps_old_content_and_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_fsutil.os, "replace", broken)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f"]


def test_missing_directory_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        atomic_write(tmp_path / "missing" / "f", b"x")


# --- create_new: atomic and exclusive --------------------------------------------------------


def test_create_new_writes_a_new_file_with_mode(tmp_path):
    target = tmp_path / "new"
    _fsutil.create_new(target, b"data", 0o640)
    assert target.read_bytes() == b"data"
    assert target.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["new"]


@pytest.mark.parametrize("secret", [False, True])
def test_create_new_refuses_an_existing_file_and_keeps_it(tmp_path, secret):
    target = tmp_path / "taken"
    target.write_bytes(b"theirs")
    with pytest.raises(FileExistsError) as info:
        _fsutil.create_new(target, b"ours", secret=secret)
    assert info.value.filename == str(target)
    assert target.read_bytes() == b"theirs" and os.listdir(tmp_path) == ["taken"]


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "without O_TMPFILE"])
def test_of_many_writers_racing_for_one_name_exactly_one_wins(tmp_path, monkeypatch, unnamed):
    if not unnamed:
        monkeypatch.setattr(_fsutil, "_create_unnamed", lambda *args: False)
    target = tmp_path / "contested"
    barrier = threading.Barrier(8)
    outcomes = []

    def writer(number):
        barrier.wait()
        try:
            _fsutil.create_new(target, b"writer %d" % number)
            outcomes.append(number)
        except FileExistsError:
            pass

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 1
    assert target.read_bytes() == b"writer %d" % outcomes[0]
    assert os.listdir(tmp_path) == ["contested"]


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "without O_TMPFILE"])
def test_a_secret_never_has_a_temporary_name(tmp_path, monkeypatch, unnamed):
    if not unnamed:
        monkeypatch.setattr(_fsutil, "_create_unnamed", lambda *args: False)

    def no_temporaries(*args, **kwargs):
        raise AssertionError("a temporary file for a secret")

    monkeypatch.setattr(_fsutil.tempfile, "mkstemp", no_temporaries)
    _fsutil.create_new(tmp_path / "key.pem", b"-----BEGIN PRIVATE KEY-----", 0o600, secret=True)
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["key.pem"]


def test_a_secret_that_cannot_be_written_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(_fsutil, "_create_unnamed", lambda *args: False)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_fsutil.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        _fsutil.create_new(tmp_path / "key.pem", b"secret", 0o600, secret=True)
    assert os.listdir(tmp_path) == []


# --- temporaries left by a killed writer ------------------------------------------------------


def leftover(directory, target: str, age: float = 60.0) -> str:
    """A temporary file as a writer killed while writing ``target`` leaves it: unlocked."""
    fd, name = _fsutil._temporary(os.path.join(directory, target), b"partial", 0o644)
    os.close(fd)  # the lock goes with the process
    when = time.time() - age
    os.utime(name, (when, when))
    return name


def test_the_next_write_of_a_file_removes_its_stale_temporaries(tmp_path):
    stale = leftover(tmp_path, "f")
    other = leftover(tmp_path, "g")
    atomic_write(tmp_path / "f", b"data")
    assert not os.path.exists(stale) and os.path.exists(other)


def test_locked_young_and_foreign_files_are_left_alone(tmp_path):
    fd, locked = _fsutil._temporary(str(tmp_path / "f"), b"being written", 0o644)
    try:
        when = time.time() - 60
        os.utime(locked, (when, when))
        young = leftover(tmp_path, "f", age=0)
        foreign = tmp_path / ".f.notes.tmp"  # not a name our temporaries have
        foreign.write_bytes(b"a user's file")
        os.utime(foreign, (when, when))
        assert _fsutil.remove_stale_temporaries(tmp_path) == 0
        assert os.path.exists(locked) and os.path.exists(young) and foreign.exists()
    finally:
        os.close(fd)


def test_creating_a_file_removes_the_stale_temporaries_of_an_earlier_write(tmp_path):
    """A key an older writer was killed writing, under its temporary name, goes too."""
    stale = leftover(tmp_path, "srv.key")
    _fsutil.create_new(tmp_path / "srv.key", b"new key", 0o600, secret=True)
    assert os.listdir(tmp_path) == ["srv.key"] and not os.path.exists(stale)
