"""The file objects of :meth:`TLSSocket.makefile <engine.blocking.TLSSocket.makefile>`: a raw
file of plaintext under io's buffered and text layers, built as ``socket.makefile`` builds
them."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._socket import TLSSocket


class PlaintextIO(io.RawIOBase):
    """The raw file under a makefile() object: plaintext in and out of its TLSSocket.

    Made with the arguments of makefile(), which it checks before the socket counts it as open;
    closing it tells the socket, which sends close_notify once its last file is closed.
    """

    def __init__(self, tls: TLSSocket, mode: str, buffering: int | None) -> None:
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError("invalid mode %r (only r, w, b allowed)" % mode)
        if buffering == 0 and "b" not in mode:
            raise ValueError("unbuffered streams must be binary")
        super().__init__()
        self._tls = tls
        self._writing = "w" in mode
        self._reading = "r" in mode or not self._writing
        self.file_mode = mode  # as makefile() was given it

    def readable(self) -> bool:
        return self._reading

    def writable(self) -> bool:
        return self._writing

    def readinto(self, buffer) -> int:
        self._checkClosed()
        return self._tls.recv_into(buffer)

    def write(self, data) -> int:
        self._checkClosed()
        self._tls.sendall(data)
        return memoryview(data).nbytes

    def fileno(self) -> int:
        return self._tls.fileno()

    @property
    def name(self) -> int:
        return self.fileno() if not self.closed else -1

    @property
    def mode(self) -> str:
        return ("r" if self._reading else "") + ("w" if self._writing else "") + "b"

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        self._tls._decref_socketios()


def buffered_file(raw: PlaintextIO, buffering: int | None, encoding: str | None,
                  errors: str | None, newline: str | None) -> Any:
    """``raw`` as makefile() returns it: unbuffered, buffered, or buffered under text."""
    if buffering is None or buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
    if buffering == 0:
        return raw
    buffer: io.BufferedIOBase
    if raw.readable() and raw.writable():
        buffer = io.BufferedRWPair(raw, raw, buffering)
    elif raw.readable():
        buffer = io.BufferedReader(raw, buffering)
    else:
        buffer = io.BufferedWriter(raw, buffering)
    if "b" in raw.file_mode:
        return buffer
    text: Any = io.TextIOWrapper(buffer, encoding, errors, newline)
    text.mode = raw.file_mode  # as socket.makefile sets it
    return text
