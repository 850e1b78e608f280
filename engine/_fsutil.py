"""Files written whole: a reader sees the old content or the new, never a mixture.

:func:`atomic_write` replaces a file: the data goes to a temporary file in the same directory,
is flushed to disk and takes the target's place with :func:`os.replace`. :func:`create_new`
makes a file that must not exist yet (O_EXCL semantics, even against another process creating
it at the same moment): where the system has O_TMPFILE the data is written to a file without a
name that is linked into place once complete, so it never has a temporary name; elsewhere a
temporary file is hard-linked to the target. A ``secret`` (an unencrypted private key) is never
given a temporary name: without O_TMPFILE it is written under its own name, created exclusively.
Either way the directory is then flushed so the new entry survives a crash.

A temporary file is locked (flock) while it is written. A process killed meanwhile (kill -9)
leaves it behind, unlocked: :func:`remove_stale_temporaries`, which the writers here call for
their target, removes such leftovers on the next run, and never a file another process is
still writing.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import time

from ._locking import lock_exclusive

_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp\Z")  # what tempfile.mkstemp makes below
_STALE_AFTER_S = 2.0  # younger temporaries may be between their creation and their lock
# open(O_TMPFILE) where the kernel or the file system lacks it
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL}
# link() where hard links, or /proc to reach an unnamed file, are missing
_NO_LINK = {errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS}


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


def _naming(path: str, exc: OSError) -> OSError:
    """``exc`` again, naming ``path`` (the target), never a temporary file."""
    if exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, path)


def _write_all(fd: int, data: bytes, mode: int) -> None:
    os.fchmod(fd, mode)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _temporary(path: str, data: bytes, mode: int) -> tuple[int, str]:
    """A locked temporary file beside ``path`` holding ``data``: (descriptor, name)."""
    directory, base = os.path.split(path)
    fd, temp = tempfile.mkstemp(prefix=".%s." % base, suffix=".tmp", dir=directory or ".")
    try:
        lock_exclusive(fd)
        _write_all(fd, data, mode)
    except BaseException:
        os.close(fd)
        _unlink(temp)
        raise
    return fd, temp


def _unlink(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def atomic_write(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically, with permission bits ``mode``, replacing it.

    An OSError names ``path`` (its ``filename``), never the temporary file.
    """
    path = os.path.abspath(os.fspath(path))
    remove_stale_temporaries(os.path.dirname(path), os.path.basename(path))
    try:
        fd, temp = _temporary(path, data, mode)
    except OSError as exc:
        raise _naming(path, exc) from None
    try:
        os.replace(temp, path)
    except BaseException as exc:
        _unlink(temp)
        if isinstance(exc, OSError):
            raise _naming(path, exc) from None
        raise
    finally:
        os.close(fd)
    fsync_directory(os.path.dirname(path))


def create_new(path: str | os.PathLike, data: bytes, mode: int = 0o644, *,
               secret: bool = False) -> None:
    """Create ``path`` holding ``data``, atomically and exclusively.

    FileExistsError (naming ``path``) if it exists, however close another process came to
    making it first. With ``secret``, the data never sits under a temporary name.
    """
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    remove_stale_temporaries(directory, os.path.basename(path))
    try:
        if not _create_unnamed(path, data, mode):
            if secret:
                _create_in_place(path, data, mode)
            else:
                _create_by_link(path, data, mode)
    except OSError as exc:
        raise _naming(path, exc) from None
    fsync_directory(directory)


def _create_unnamed(path: str, data: bytes, mode: int) -> bool:
    """O_TMPFILE, then linkat into place; False where the system or file system cannot."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return False
    directory, base = os.path.split(path)
    try:
        fd = os.open(directory, flag | os.O_WRONLY, 0o600)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return False
        raise
    try:
        _write_all(fd, data, mode)
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            # a dir_fd makes os.link call linkat, which follows the /proc link to the file
            os.link("/proc/self/fd/%d" % fd, base, dst_dir_fd=dir_fd, follow_symlinks=True)
        except OSError as exc:
            if exc.errno in _NO_LINK:
                return False
            raise
        finally:
            os.close(dir_fd)
    finally:
        os.close(fd)
    return True


def _create_in_place(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        _write_all(fd, data, mode)
    except BaseException:
        _unlink(path)
        raise
    finally:
        os.close(fd)


def _create_by_link(path: str, data: bytes, mode: int) -> None:
    fd, temp = _temporary(path, data, mode)
    try:
        os.link(temp, path)
    except OSError as exc:
        if exc.errno not in _NO_LINK or exc.errno == errno.ENOENT:
            raise
        _create_in_place(path, data, mode)  # a file system without hard links
    finally:
        _unlink(temp)
        os.close(fd)


def remove_stale_temporaries(directory: str | os.PathLike, target: str | None = None) -> int:
    """Remove the temporary files a killed writer left in ``directory`` (only those of
    ``target`` when given); return how many. A temporary still locked by its writer, or only
    just made, is left alone. Errors are ignored: this is housekeeping."""
    directory = os.fspath(directory) or "."
    prefix = "." if target is None else ".%s." % target
    removed = 0
    try:
        entries = os.scandir(directory)
    except OSError:
        return 0
    with entries:
        for entry in entries:
            name = entry.name
            if not name.startswith(prefix) or not _TEMPORARY.match(name):
                continue
            if _remove_if_stale(entry.path):
                removed += 1
    return removed


def _remove_if_stale(name: str) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        status = os.fstat(fd)
        if not (status.st_mode & 0o170000 == 0o100000  # a regular file
                and time.time() - status.st_mtime > _STALE_AFTER_S):
            return False
        try:
            lock_exclusive(fd, wait=False)
        except OSError:
            return False  # its writer is alive and holds it
        os.unlink(name)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
