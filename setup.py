"""Build script: the package, plus the optional cffi extension ``engine._native``.

The extension links OpenSSL's libcrypto 3.x. Where it cannot be built (no C compiler, no OpenSSL
headers), installation still succeeds with the pure-Python package: the cause, in one sentence,
is written into the package (``engine/_native_missing.txt``), where ``engine info`` and the
warning of the first connection that falls back to Python read it. ``ENGINE_REQUIRE_NATIVE=1``
makes a missing extension a build error instead (wheel builds set it).

The extension uses only the stable ABI, so one wheel per platform serves CPython 3.10 and later
(tagged ``cp310-abi3``).
"""

import os
import re
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

MISSING = os.path.join("engine", "_native_missing.txt")


def cause_of(exc: BaseException) -> str:
    """A plain sentence for why the extension could not be built (no compiler command)."""
    text = str(exc)
    header = re.search(r"(openssl/[\w.]+\.h)", text)
    if header and ("No such file" in text or "not found" in text or "fatal error" in text):
        return ("the OpenSSL 3 headers were not found (%s): install libssl-dev (Debian), "
                "openssl-devel (Fedora) or openssl@3 (Homebrew), or set OPENSSL_DIR"
                % header.group(1))
    if "-lcrypto" in text or "libcrypto" in text:
        return ("libcrypto was not found to link against: install OpenSSL 3 (libssl-dev on "
                "Debian) or set OPENSSL_LIB_DIR")
    if re.search(r"command '?[^']*'? failed|No such file or directory|not found|exit status",
                 text) or "CompileError" in type(exc).__name__:
        return "no working C compiler was found (set CC, or install gcc or clang)"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


class OptionalBuildExt(build_ext):
    """Build the native extension if possible; otherwise record why and go on."""

    _failed = False
    _in_source = False

    def run(self):
        # setuptools turns inplace off while it builds and copies afterwards: note it now
        self._in_source = bool(self.inplace or getattr(self, "editable_mode", False))
        try:
            super().run()
        except Exception as exc:  # compiler missing, headers missing, link failure
            self._skip(exc)
        if not self._failed:
            self._record(None)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    def _skip(self, exc):
        if os.environ.get("ENGINE_REQUIRE_NATIVE") == "1":
            raise exc
        if self._failed:  # what followed the first failure (copying what was not built)
            return
        cause = cause_of(exc)
        self._failed = True
        self._record(cause)
        sys.stderr.write("WARNING: engine's native extension was not built: %s. The pure-Python "
                         "backend will be used; `engine info` says so.\n" % cause)

    def _record(self, cause):
        """Write the cause into the package (removing a stale one when the build worked)."""
        for root in {self.build_lib, "."} if self._in_source else {self.build_lib}:
            path = os.path.join(root, MISSING)
            if cause is None:
                if os.path.exists(path):
                    os.unlink(path)
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(cause + "\n")


setup(
    cffi_modules=["csrc/build_native.py:ffibuilder"],
    cmdclass={"build_ext": OptionalBuildExt},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
