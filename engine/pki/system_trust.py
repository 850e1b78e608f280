"""Where the operating system keeps its trust anchors, found as OpenSSL and Python's ``ssl`` find
them.

OpenSSL reads a CA bundle file and a directory of CA files (named by subject hash, as
``c_rehash`` and ``update-ca-certificates`` make them); the environment variables
``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` replace the compiled-in defaults, and
``ssl.get_default_verify_paths()`` names both. :func:`locations` lists the places to read in
order: the file named by ``SSL_CERT_FILE``, else the first bundle among OpenSSL's default and the
bundles Linux distributions install; the directories named by ``SSL_CERT_DIR`` (separated as
``PATH`` is), else OpenSSL's default directory, read only when no bundle was found, since a
distribution's directory holds the same certificates as its bundle. With neither, the Mozilla
bundle of ``certifi`` is used when it is installed.

The environment is ignored under ``python -E``, as ``ssl.create_default_context`` ignores it.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import sys
import threading

from ..errors import TrustStoreError

# CA bundles as distributions install them; OpenSSL's own default is tried before these.
DISTRIBUTION_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Gentoo, Arch
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # Fedora, RHEL, CentOS 7 and later
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # Alpine, macOS, the BSDs
)


@dataclasses.dataclass(frozen=True)
class Locations:
    """The bundle files and CA directories to read, each at most once, and where they came from."""

    files: tuple[str, ...]
    directories: tuple[str, ...]
    file_from_environment: bool
    directories_from_environment: bool


def _environment(name: str) -> str | None:
    if sys.flags.ignore_environment:
        return None
    return os.environ.get(name) or None


def locations() -> Locations:
    """The places :meth:`TrustStore.system` reads, in order (see the module's docstring)."""
    defaults = ssl.get_default_verify_paths()
    cert_file = _environment(defaults.openssl_cafile_env)
    cert_dir = _environment(defaults.openssl_capath_env)
    if cert_file is not None:
        files: tuple[str, ...] = (cert_file,)
    else:
        files = tuple(dict.fromkeys((defaults.openssl_cafile,) + DISTRIBUTION_BUNDLES))
    if cert_dir is not None:
        directories = tuple(part for part in cert_dir.split(os.pathsep) if part)
    else:
        directories = (defaults.openssl_capath,)
    return Locations(files, directories, cert_file is not None, cert_dir is not None)


def certifi_bundle() -> str | None:
    """The path of certifi's CA bundle, or None when certifi is not installed."""
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


# Certificates read from a file or directory, kept while its modification time and size stay
# the same: a ClientConfig made for each connection reads the system bundle once.
_read: dict = {}
_read_lock = threading.Lock()


def _stamp(path: str):
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size, status.st_ino)


def cached(path: str, read):
    """``read(path)``, or what it gave last time if ``path`` has not changed since."""
    stamp = _stamp(path)
    with _read_lock:
        known = _read.get(path)
    if known is not None and stamp is not None and known[0] == stamp:
        return known[1]
    value = read(path)
    if stamp is not None:
        with _read_lock:
            _read[path] = (stamp, value)
    return value


def no_anchors_error(where: Locations) -> TrustStoreError:
    looked = list(where.files) + list(where.directories)
    return TrustStoreError(
        "no system CA certificates were found (looked in %s, and certifi is not installed); "
        "give the trust anchors (trust=\"ca.pem\") or pip install certifi" % ", ".join(looked))
