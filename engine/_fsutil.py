"""Atomic file writes: a reader sees the old content or the new, never a mixture.

The data goes to a temporary file in the same directory, is flushed to disk, and replaces the
target with :func:`os.replace`; the directory is then flushed so the rename itself survives a
crash.
"""

from __future__ import annotations

import os
import tempfile


def fsync_directory(path: str | os.PathLike) -> None:
    """Flush a directory's entries to disk (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically, with permission bits ``mode``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fsync_directory(directory)
