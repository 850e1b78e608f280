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
    """Write ``data`` to ``path`` atomically, with permission bits ``mode``.

    An OSError names ``path`` (its ``filename``), never the temporary file.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp",
                                    dir=directory)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, path) from None
    try:
        try:
            os.fchmod(fd, mode)
            fh = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None:
            raise type(exc)(exc.errno, exc.strerror, path) from None
        raise
    fsync_directory(directory)
