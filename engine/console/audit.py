"""The console's audit log: who did what, when, from where; one JSON object per line.

The file is opened for appending only (``O_APPEND``), each entry is written with one ``write``
call and flushed to disk, and nothing in the console rewrites or truncates it. Passwords and
keys are never given to it: entries name users, serial numbers and actions.
"""

from __future__ import annotations

import datetime
import json
import os
import threading

MAX_FIELD = 200  # characters kept of any one value (a name typed at the login form, say)
_READ_TAIL = 1 << 20  # bytes read from the end of the file to show the latest entries


def _clip(value):
    if isinstance(value, str):
        return value[:MAX_FIELD]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return str(value)[:MAX_FIELD]


class AuditLog:
    """Append-only audit entries in ``path`` (created 0600 if missing)."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def record(self, who: str | None, action: str, address: str | None = None, **detail) -> dict:
        entry = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "who": _clip(who or "-"),
            "address": _clip(address or "-"),
            "action": _clip(action),
        }
        entry.update({_clip(k): _clip(v) for k, v in sorted(detail.items())})
        line = (json.dumps(entry, ensure_ascii=True, sort_keys=False) + "\n").encode("ascii")
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        return entry

    def latest(self, count: int = 200) -> list:
        """The last ``count`` entries, newest first (lines that do not parse are skipped)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - _READ_TAIL))
                data = fh.read()
        except FileNotFoundError:
            return []
        lines = data.splitlines()
        if size > _READ_TAIL:
            lines = lines[1:]  # the first may be cut
        entries = []
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
            if len(entries) >= count:
                break
        return entries
