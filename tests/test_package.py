"""The package as a user meets it: its names, its version, how it says it runs without its
extension, and that it imports where the system lacks fcntl."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine

REPO = Path(__file__).resolve().parent.parent


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


def test_dir_and_help_list_the_public_names():
    names = dir(engine)
    for name in ("ClientConnection", "ServerConfig", "connect", "verify_chains", "Session",
                 "aio", "records", "pki", "errors", "__version__"):
        assert name in names
    assert engine.aio.open_connection and engine.records.Sealer and engine.pki.TrustStore
    assert "ClientConnection" in run_python("import engine; help(engine)").stdout


def test_engine_version_prints_the_version():
    done = subprocess.run([sys.executable, "-m", "engine", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "engine %s" % engine.__version__


def test_falling_back_to_python_is_said_once_with_the_reason():
    code = """
import sys, warnings
sys.modules["engine._native"] = None  # the extension is missing
import engine
from engine._backend import BackendWarning
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    for _ in range(3):
        engine.records.RecordLayer()
print(sum(issubclass(w.category, BackendWarning) for w in seen), engine.backend_info().active)
print(*(w.message for w in seen))
"""
    done = run_python(code, ENGINE_BACKEND="auto")
    count, active = done.stdout.splitlines()[0].split()
    assert (count, active) == ("1", "python"), done.stderr
    assert "pure-Python backend" in done.stdout and "engine._native" in done.stdout
    quiet = run_python(code.replace('"always"', '"error"'), ENGINE_BACKEND="python")
    assert quiet.returncode == 0 and quiet.stdout.startswith("0 python"), quiet.stderr


def test_the_pki_imports_and_locks_without_fcntl(tmp_path):
    """Where fcntl is missing (Windows), locking goes through msvcrt.locking."""
    code = """
import sys, types
sys.modules["fcntl"] = None
calls = []
msvcrt = types.ModuleType("msvcrt")
msvcrt.LK_LOCK, msvcrt.LK_NBLCK = 1, 2
msvcrt.locking = lambda fd, mode, size: calls.append((mode, size))
sys.modules["msvcrt"] = msvcrt
from engine.pki import CADirectory
CADirectory.init(sys.argv[1], "Windows Root CA", password=b"pw", kdf_rounds=1000)
print(len(calls) > 0, calls[0])
"""
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ca")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "True" and "(1, 1)" in done.stdout


@pytest.mark.slow
def test_a_build_without_a_compiler_records_a_plain_cause(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.so", "__pycache__", ".pytest_cache", ".hypothesis"))
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                          cwd=tree, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CC": "/bin/false", "ENGINE_REQUIRE_NATIVE": "0"})
    assert done.returncode == 0, done.stderr
    cause = (tree / "engine" / "_native_missing.txt").read_text().strip()
    assert cause == "no working C compiler was found (set CC, or install gcc or clang)"
    assert cause in done.stderr and "-c " not in cause and "/bin/false" not in cause
