"""Build script: the package, plus the optional cffi extension ``engine._native``.

The extension links OpenSSL's libcrypto 3.x. Where it cannot be built (no C compiler, no OpenSSL
headers), installation still succeeds with the pure-Python package and one warning, unless
``ENGINE_REQUIRE_NATIVE=1`` asks for the build to fail instead (wheel builds do).
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build the native extension if possible; otherwise warn once and go on."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # compiler missing, headers missing, link failure
            self._skip(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    def _skip(self, exc):
        if os.environ.get("ENGINE_REQUIRE_NATIVE") == "1":
            raise exc
        text = str(exc).strip().splitlines()
        first_line = text[0] if text else type(exc).__name__
        if len(first_line) > 160:
            first_line = first_line[:157] + "..."
        sys.stderr.write(
            "WARNING: engine's native extension could not be built (%s); "
            "installing the pure-Python backend. `engine info` explains the active backend.\n"
            % first_line
        )


setup(
    cffi_modules=["csrc/build_native.py:ffibuilder"],
    cmdclass={"build_ext": OptionalBuildExt},
)
