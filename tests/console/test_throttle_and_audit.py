"""The login throttle's window and memory bound; the audit log's append-only file."""

from __future__ import annotations

import json
import os
import stat

from engine.console.audit import MAX_FIELD, AuditLog
from engine.console.throttle import LoginThrottle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_failures_older_than_the_window_stop_counting():
    clock = Clock()
    throttle = LoginThrottle(limit=2, window=60, clock=clock)
    throttle.failed("adam", "192.0.2.1")
    clock.now += 30
    throttle.failed("adam", "192.0.2.1")
    assert throttle.blocked("adam", "198.51.100.1")
    clock.now += 31  # the first failure has left the window
    assert not throttle.blocked("adam", "198.51.100.1")


def test_a_right_password_clears_the_names_failures_not_the_addresss():
    throttle = LoginThrottle(limit=2)
    for name in ("adam", "adam"):
        throttle.failed(name, "192.0.2.1")
    throttle.succeeded("adam")
    assert not throttle.blocked("adam", "198.51.100.1")
    assert throttle.blocked("bea", "192.0.2.1")


def test_the_throttle_forgets_the_least_recent_keys_beyond_its_bound():
    throttle = LoginThrottle(limit=1, max_keys=4)
    for number in range(10):
        throttle.failed("user%d" % number, "192.0.2.%d" % number)
    assert throttle.blocked("user9", "-") and not throttle.blocked("user0", "-")


def test_the_audit_log_appends_and_never_rewrites(tmp_path):
    path = tmp_path / "audit.log"
    path.write_text('{"action": "written before"}\n')
    os.chmod(path, 0o600)
    log = AuditLog(path)
    log.record("adam", "login", "192.0.2.1", method="password")
    log.record("adam", "logout", "192.0.2.1")
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"action": "written before"}
    assert [json.loads(line)["action"] for line in lines[1:]] == ["login", "logout"]
    assert [entry["action"] for entry in log.latest()] == ["logout", "login", "written before"]


def test_a_new_audit_log_is_private_and_long_values_are_clipped(tmp_path):
    log = AuditLog(tmp_path / "audit.log")
    entry = log.record("x" * 1000, "login failed", "192.0.2.1")
    assert len(entry["who"]) == MAX_FIELD
    assert stat.S_IMODE(os.stat(tmp_path / "audit.log").st_mode) == 0o600


def test_unreadable_audit_lines_are_skipped(tmp_path):
    path = tmp_path / "audit.log"
    path.write_text('not json\n{"action": "kept"}\n[1, 2]\n')
    assert AuditLog(path).latest() == [{"action": "kept"}]
