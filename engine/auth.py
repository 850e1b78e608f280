"""Administrator accounts: a password file of bcrypt hashes.

The file holds one ``name:hash`` line per user (the format of Apache's htpasswd with bcrypt
hashes), is replaced atomically on every change and is readable by its owner only; a lock file
beside it (``.NAME.lock``) keeps two changes at once from losing one another.

bcrypt reads at most 72 bytes of a password and C implementations stop at a NUL byte. So a
password longer than 72 bytes, or holding a NUL byte, is first reduced to the base64 text of
its SHA-256 digest (44 bytes); shorter passwords go to bcrypt unchanged, so their hashes are the
same as any other bcrypt tool's. Every byte of a long password therefore counts.

Checking the password of an unknown user costs the same bcrypt work as a known one (it is
checked against a dummy hash of the same cost) and answers False, so timing does not reveal
which names exist.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os

import bcrypt

from ._locking import lock_exclusive
from ._fsutil import atomic_write
from .errors import AuthError

DEFAULT_ROUNDS = 12
MIN_ROUNDS, MAX_ROUNDS = 4, 31
BCRYPT_LIMIT = 72
MAX_NAME = 64

_dummy_hashes: dict = {}


def bcrypt_input(password) -> bytes:
    """The bytes given to bcrypt for ``password`` (pre-hashed when bcrypt would cut it short)."""
    if isinstance(password, str):
        password = password.encode("utf-8")
    elif not isinstance(password, (bytes, bytearray, memoryview)):
        raise AuthError("a password must be str or bytes, not %s" % type(password).__name__)
    password = bytes(password)
    if len(password) > BCRYPT_LIMIT or b"\x00" in password:
        return base64.b64encode(hashlib.sha256(password).digest())
    return password


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise AuthError("a user name must be a non-empty string")
    if len(name) > MAX_NAME:
        raise AuthError("a user name must be at most %d characters" % MAX_NAME)
    if ":" in name or any(c.isspace() or not c.isprintable() for c in name):
        raise AuthError("user name %r may not hold ':', spaces or control characters" % name)
    return name


def _dummy_hash(rounds: int) -> bytes:
    if rounds not in _dummy_hashes:
        _dummy_hashes[rounds] = bcrypt.hashpw(os.urandom(16).hex().encode(), bcrypt.gensalt(rounds))
    return _dummy_hashes[rounds]


def _cost_of(users: dict, default: int) -> int:
    """The cost of the file's first hash (``$2b$12$...`` is 12), so a dummy check costs the same."""
    for hashed in users.values():
        try:
            cost = int(hashed[4:6])
        except ValueError:
            break
        if MIN_ROUNDS <= cost <= MAX_ROUNDS:
            return cost
        break
    return default


class PasswordFile:
    """The administrator accounts kept in ``path``; new hashes are made with cost ``rounds``."""

    def __init__(self, path: str | os.PathLike, rounds: int = DEFAULT_ROUNDS):
        if not isinstance(rounds, int) or not MIN_ROUNDS <= rounds <= MAX_ROUNDS:
            raise AuthError("bcrypt cost must be an integer from %d to %d" % (MIN_ROUNDS, MAX_ROUNDS))
        self.path = os.fspath(path)
        self.rounds = rounds

    # --- the file -----------------------------------------------------------------------

    def _read(self, missing_ok: bool = False) -> dict:
        try:
            with open(self.path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            if missing_ok:
                return {}
            raise AuthError("password file %s does not exist" % self.path) from None
        except OSError as exc:
            raise AuthError("cannot read password file %s: %s" % (self.path, exc.strerror)) \
                from None
        users = {}
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip() or line.startswith(b"#"):
                continue
            raw_name, sep, hashed = line.partition(b":")
            try:
                name = raw_name.decode("utf-8")
            except UnicodeDecodeError:
                name = ""
            if not sep or not name or not hashed.startswith((b"$2a$", b"$2b$", b"$2y$")):
                raise AuthError("%s line %d is not a name:bcrypt-hash entry" % (self.path, number))
            users[name] = hashed.strip()
        return users

    def _write(self, users: dict) -> None:
        data = b"".join(b"%s:%s\n" % (name.encode("utf-8"), hashed)
                        for name, hashed in users.items())
        try:
            atomic_write(self.path, data, 0o600)
        except OSError as exc:
            raise AuthError("cannot write password file %s: %s" % (self.path, exc.strerror)) \
                from None

    @contextlib.contextmanager
    def _locked(self):
        folder, base = os.path.split(os.path.abspath(self.path))
        try:
            fd = os.open(os.path.join(folder, ".%s.lock" % base), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuthError("cannot lock password file %s: %s" % (self.path, exc.strerror)) \
                from None
        try:
            lock_exclusive(fd)
            yield
        finally:
            os.close(fd)

    def _hash(self, password) -> bytes:
        secret = bcrypt_input(password)
        if not secret:
            raise AuthError("the password is empty")
        return bcrypt.hashpw(secret, bcrypt.gensalt(self.rounds))

    # --- accounts -----------------------------------------------------------------------

    def users(self) -> list:
        """The user names, in file order (an empty list when the file does not exist yet)."""
        return list(self._read(missing_ok=True))

    def __contains__(self, name) -> bool:
        return name in self._read(missing_ok=True)

    def add(self, name: str, password) -> None:
        """Add a user; AuthError if the name is taken. Creates the file if needed."""
        _check_name(name)
        hashed = self._hash(password)
        with self._locked():
            users = self._read(missing_ok=True)
            if name in users:
                raise AuthError("user %r already exists" % name)
            users[name] = hashed
            self._write(users)

    def change(self, name: str, password) -> None:
        """Give an existing user a new password; AuthError if there is no such user."""
        _check_name(name)
        hashed = self._hash(password)
        with self._locked():
            users = self._read()
            if name not in users:
                raise AuthError("no user %r" % name)
            users[name] = hashed
            self._write(users)

    def remove(self, name: str) -> None:
        """Remove a user; AuthError if there is no such user."""
        with self._locked():
            users = self._read()
            if name not in users:
                raise AuthError("no user %r" % name)
            del users[name]
            self._write(users)

    def verify(self, name: str, password) -> bool:
        """Whether ``password`` is ``name``'s; False (after the same work) for an unknown user."""
        secret = bcrypt_input(password)
        users = self._read()
        hashed = users.get(name) if isinstance(name, str) else None
        if hashed is None:
            bcrypt.checkpw(secret, _dummy_hash(_cost_of(users, self.rounds)))
            return False
        try:
            return bcrypt.checkpw(secret, hashed)
        except ValueError:
            raise AuthError("the entry for %r in %s is damaged" % (name, self.path)) from None
