"""cffi build script for ``engine._native``.

Every ``csrc/*.h`` is one area's public C interface: its declarations are given to cffi's cdef
(preprocessor lines dropped) and it is included by the generated module. A header named
``*_internal.h`` is shared by one area's sources only: it is neither given to cdef nor included.
Every ``csrc/*.c`` is compiled into the one extension, linked against OpenSSL's libcrypto 3.x.
The extension's type stub, engine/_native.pyi, is written from the same headers by
native_stub.py.

Where OpenSSL lives: ``OPENSSL_DIR`` (a prefix with include/ and lib/), or ``OPENSSL_INCLUDE_DIR``
and ``OPENSSL_LIB_DIR``, else ``pkg-config libcrypto``, else the compiler's defaults.
``ENGINE_SANITIZE=address`` builds with AddressSanitizer (see README, "Checking the native code").
"""

import glob
import os
import shlex
import subprocess
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _rel(path):
    """Paths relative to the project root, as setuptools wants for sources."""
    return os.path.relpath(path, ROOT) if os.getcwd() == ROOT else path


def _headers():
    return sorted(h for h in glob.glob(os.path.join(HERE, "*.h")) if not h.endswith("_internal.h"))


def _sources():
    return [_rel(p) for p in sorted(glob.glob(os.path.join(HERE, "*.c")))]


def _cdef_text(header_path):
    """A header's declarations without its preprocessor lines (include guards, includes)."""
    with open(header_path, encoding="utf-8") as fh:
        return "".join(line for line in fh if not line.lstrip().startswith("#"))


def _pkg_config(*args):
    try:
        out = subprocess.run(
            ["pkg-config", *args, "libcrypto"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return shlex.split(out)


def _openssl_paths():
    include_dirs, library_dirs = [], []
    prefix = os.environ.get("OPENSSL_DIR")
    if prefix:
        include_dirs.append(os.path.join(prefix, "include"))
        library_dirs.append(os.path.join(prefix, "lib"))
    if os.environ.get("OPENSSL_INCLUDE_DIR"):
        include_dirs.append(os.environ["OPENSSL_INCLUDE_DIR"])
    if os.environ.get("OPENSSL_LIB_DIR"):
        library_dirs.append(os.environ["OPENSSL_LIB_DIR"])
    if not include_dirs:
        include_dirs += [f[2:] for f in _pkg_config("--cflags-only-I") if f.startswith("-I")]
        library_dirs += [f[2:] for f in _pkg_config("--libs-only-L") if f.startswith("-L")]
    return include_dirs, library_dirs


def _compile_args():
    args = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"]
    link = ["-pthread"]
    if os.environ.get("ENGINE_SANITIZE") == "address":
        args += ["-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O1"]
        link += ["-fsanitize=address"]
    return args, link


ffibuilder = FFI()
for _header in _headers():
    ffibuilder.cdef(_cdef_text(_header))

_include_dirs, _library_dirs = _openssl_paths()
_cflags, _ldflags = _compile_args()
ffibuilder.set_source(
    "engine._native",
    "".join('#include "%s"\n' % os.path.basename(h) for h in _headers()),
    sources=_sources(),
    include_dirs=[_rel(HERE)] + _include_dirs,
    library_dirs=_library_dirs,
    runtime_library_dirs=_library_dirs if sys.platform.startswith("linux") else [],
    libraries=["crypto"],
    extra_compile_args=_cflags,
    extra_link_args=_ldflags,
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=os.path.join(ROOT, "build", "cffi"), verbose=True)
