"""atomic_write: the old content or the new, never a mixture, and no stray files."""

from __future__ import annotations

import os

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
