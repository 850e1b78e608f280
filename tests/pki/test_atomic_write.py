"""atomic_write on failure: the error names the target, nothing is left behind, and the old
content stays."""

from __future__ import annotations

import os

import pytest

from engine._fsutil import atomic_write


def test_a_missing_directory_is_reported_for_the_target(tmp_path):
    target = tmp_path / "missing" / "file.pem"
    with pytest.raises(FileNotFoundError) as info:
        atomic_write(target, b"data")
    assert info.value.filename == str(target)


def test_a_directory_in_the_way_is_reported_for_the_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "in-the-way"
    target.mkdir()
    with pytest.raises(OSError) as info:
        atomic_write(target, b"data")
    assert info.value.filename == str(target)
    assert os.listdir(tmp_path) == ["in-the-way"] and target.is_dir()


def test_a_failed_write_keeps_the_old_content(tmp_path, monkeypatch):
    target = tmp_path / "file"
    target.write_bytes(b"old")

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError) as info:
        atomic_write(target, b"new")
    assert info.value.filename == str(target) and "No space" in str(info.value)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["file"]


def test_a_failure_before_the_file_object_exists_closes_the_descriptor(tmp_path, monkeypatch):
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None

    def refuse(fd, mode):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchmod", refuse)
    with pytest.raises(PermissionError):
        atomic_write(tmp_path / "file", b"data")
    assert os.listdir(tmp_path) == []
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before
