"""Exclusive locks on open files, across processes: ``flock`` where the system has it (POSIX),
``msvcrt.locking`` on Windows, so that the modules that lock (the CA directory, the password
file, temporaries being written) import everywhere.

A lock is released when its descriptor is closed.
"""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]  # the module is absent on Windows
    import msvcrt


def lock_exclusive(fd: int, wait: bool = True) -> None:
    """Take the exclusive lock of ``fd``; OSError if ``wait`` is false and another holds it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    os.lseek(fd, 0, os.SEEK_SET)  # the lock covers the file's first byte
    msvcrt.locking(fd, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
