"""TLSSocket: a TLS 1.3 connection over a connected socket, with the interface of
``ssl.SSLSocket``.

The protocol lives in :mod:`engine.tls` and its bookkeeping in :mod:`engine._driver`; this
module moves bytes over one socket and keeps threads apart. Every call that feeds the
connection sends what it queued right after, so a fatal alert (RFC 8446 section 6.2) reaches
the peer before the socket is closed, and a KeyUpdate from the peer is answered (section
4.6.3) as soon as it is read. :mod:`engine.blocking` opens such sockets and serves them.
"""

from __future__ import annotations

import collections
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Iterable, cast

from ._buffers import BytesLike, WritableBuffer
from ._driver import ALERT_LINGER, Driver, TLSInfo
from ._socket_file import PlaintextIO, buffered_file
from .errors import ProtocolError, TLSError

if TYPE_CHECKING:
    from .tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection

__all__ = ["TLSSocket"]

_READ_SIZE = 65536
_WRITE_CHUNK = 65536
_CLOSE_WAIT = 2.0  # seconds close() waits for another thread's write before closing anyway
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class _Plaintext:
    """Plaintext received and not yet read: the chunks the connection gave, taken from the front
    without copying when a read wants a whole chunk (a record's data, as it was opened)."""

    __slots__ = ("_chunks", "_offset", "size")

    def __init__(self):
        self._chunks: collections.deque = collections.deque()
        self._offset = 0  # bytes of the first chunk already read
        self.size = 0  # bytes waiting, read by the socket without a call

    def __len__(self) -> int:
        return self.size

    def append(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self.size += len(data)

    def take(self, size: int) -> bytes:
        """Up to ``size`` bytes from the front."""
        first = self._chunks[0]
        offset = self._offset
        if offset == 0 and len(first) <= size:
            self._chunks.popleft()
            self.size -= len(first)
            return first
        parts, left = [], size
        while left and self._chunks:
            first = self._chunks[0]
            piece = first[self._offset:self._offset + left]
            parts.append(piece)
            left -= len(piece)
            self._consume(len(piece))
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def take_into(self, target: memoryview, size: int) -> int:
        """Copy up to ``size`` bytes from the front into ``target``; the count copied."""
        first = self._chunks[0]
        count = len(first)
        if self._offset == 0 and count <= size:  # a whole chunk, as most reads take
            target[:count] = first
            self._chunks.popleft()
            self.size -= count
            return count
        done = 0
        while done < size and self._chunks:
            first = self._chunks[0]
            count = min(size - done, len(first) - self._offset)
            target[done:done + count] = memoryview(first)[self._offset:self._offset + count]
            done += count
            self._consume(count)
        return done

    def _consume(self, count: int) -> None:
        self.size -= count
        self._offset += count
        if self._offset == len(self._chunks[0]):
            self._chunks.popleft()
            self._offset = 0


class TLSSocket(TLSInfo):
    """A TLS 1.3 connection over a connected socket, with the interface of ``ssl.SSLSocket``.

    ``sendall``, ``send``, ``recv``, ``recv_into``, ``makefile`` and ``close`` behave as on an
    ``ssl`` socket; ``getpeercert``, ``version``, ``cipher``, ``selected_alpn_protocol`` and the
    rest of :class:`~engine._driver.TLSInfo` say what the handshake agreed. The peer's
    close_notify closes its direction only (RFC 8446 section 6.1): ``recv`` then returns ``b""``
    and we may still send, until :meth:`close`. A transport that ends without close_notify
    raises :class:`~engine.errors.TLSEOFError` from ``recv`` (what came may be truncated), as
    ``ssl`` raises SSLEOFError.

    One thread may read while another writes: the connection state is locked only around the
    sans-I/O calls, and what a reader has to send (a KeyUpdate answer, an alert) goes out through
    whichever thread is writing, so a blocked write never stops reading. Byte counters tell
    plaintext from what crossed the wire: ``bytes_sent`` and ``bytes_received`` count every byte
    of every record, handshake included.
    """

    def __init__(self, sock: socket.socket, connection: ClientConnection | ServerConnection, *,
                 server_hostname: str | None = None,
                 config: ClientConfig | ServerConfig | None = None) -> None:
        self._sock = sock
        self._lock = threading.RLock()  # the connection state and the outbox
        self._send_lock = threading.Lock()  # one thread writing to the socket at a time
        self._read_lock = threading.Lock()  # one reader at a time
        self._outbox = bytearray()  # records produced, not yet written
        self._incoming = _Plaintext()  # plaintext received, not yet read
        self._read_buffer = memoryview(bytearray(_READ_SIZE))  # what one socket read gives
        self._eof = False  # no more plaintext will come
        self._close_called = False  # close() was called
        self._shut = False  # the socket is closed (or handed back by unwrap)
        self._io_refs = 0  # makefile() objects still open: they keep the socket open
        TLSInfo.__init__(self, Driver(connection, config, server_hostname=server_hostname,
                                      on_data=self._incoming.append))

    # --- counters and the connection ----------------------------------------------------------

    @property
    def connection(self) -> ClientConnection | ServerConnection:
        """The sans-I/O connection underneath (engine.tls ClientConnection or ServerConnection)."""
        return self._driver.connection

    @property
    def alerts(self) -> list:
        """AlertDescription values the peer sent (close_notify included)."""
        return self._driver.alerts

    @property
    def bytes_sent(self) -> int:
        return self._driver.bytes_sent

    @property
    def bytes_received(self) -> int:
        return self._driver.bytes_received

    @property
    def plaintext_sent(self) -> int:
        return self._driver.plaintext_sent

    @property
    def plaintext_received(self) -> int:
        return self._driver.plaintext_received

    def pending(self) -> int:
        """Plaintext already decrypted and not yet read (``recv`` returns it without waiting)."""
        return len(self._incoming)

    # --- socket-like interface ------------------------------------------------------------------

    def fileno(self) -> int:
        return self._sock.fileno()

    def getpeername(self) -> Any:
        return self._sock.getpeername()

    def getsockname(self) -> Any:
        return self._sock.getsockname()

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    def setsockopt(self, *args: Any) -> None:
        self._sock.setsockopt(*args)

    def getsockopt(self, *args: Any) -> Any:
        return self._sock.getsockopt(*args)

    @property
    def family(self) -> socket.AddressFamily:
        return self._sock.family

    @property
    def type(self) -> socket.SocketKind:
        return self._sock.type

    @property
    def closed(self) -> bool:
        return self._close_called or self._shut

    def do_handshake(self, timeout: float | None = None) -> None:
        """Run the handshake to its end, in ``timeout`` seconds at most if given (the socket's
        own timeout still bounds each operation); raise what ended it.

        Raises the ProtocolError (after sending its alert) or PeerAlertError that ended it,
        :class:`~engine.errors.TLSEOFError` (a ConnectionAbortedError) if the transport closed
        first, TimeoutError if ``timeout`` passed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        before = self._sock.gettimeout()
        by_deadline = False  # whether the socket timeout in effect is the deadline's
        try:
            self._flush()
            while self.handshake is None:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    by_deadline = left <= 0 or before is None or left < before
                    if left <= 0:
                        raise TimeoutError
                    self._sock.settimeout(min(left, before) if before is not None else left)
                self._read_once()
        except BaseException as exc:
            self._abort()
            if isinstance(exc, TimeoutError) and by_deadline and timeout is not None:
                raise TimeoutError("the TLS handshake did not complete in %g s" % timeout) \
                    from None
            raise
        if deadline is not None:
            self._sock.settimeout(before)

    def sendall(self, data: BytesLike, flags: int = 0) -> None:
        """Encrypt and send all of ``data`` (allowed after the peer's close_notify)."""
        if flags:
            _no_flags(flags, "sendall")
        if type(data) is bytes and len(data) <= _WRITE_CHUNK:
            chunks: Iterable[BytesLike] = (data,)  # the common write: no view, no copy
        else:
            view = memoryview(data).cast("B")  # read in place, a chunk at a time
            chunks = (view[start:start + _WRITE_CHUNK]
                      for start in range(0, len(view), _WRITE_CHUNK))
        for chunk in chunks:
            with self._lock:
                driver = self._driver
                if not driver.can_send:
                    self._refuse_send()
                self._outbox += driver.send(chunk)
            self._send_pending(True)

    def send(self, data: BytesLike, flags: int = 0) -> int:
        """As :meth:`sendall` (a blocking TLS socket writes everything); the length sent."""
        self.sendall(data, flags)
        return memoryview(data).nbytes

    def write(self, data) -> int:
        return self.send(data)

    def recv(self, bufsize: int = _READ_SIZE, flags: int = 0) -> bytes:
        """Up to ``bufsize`` bytes of plaintext; ``b""`` after the peer's close_notify."""
        if flags:
            _no_flags(flags, "recv")
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        with self._read_lock:
            if not self._wait_for_plaintext(bufsize):
                return b""
            return self._incoming.take(bufsize)

    def read(self, size: int = 1024) -> bytes:
        return self.recv(size)

    def recv_into(self, buffer: WritableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        """Read up to ``nbytes`` (default: the buffer's size) into ``buffer``; the count read."""
        if flags:
            _no_flags(flags, "recv_into")
        with memoryview(buffer) as view, view.cast("B") as target:
            if nbytes < 0 or nbytes > len(target):
                raise ValueError("nbytes is negative or greater than the buffer")
            size = nbytes or len(target)
            with self._read_lock:
                if not self._wait_for_plaintext(size):
                    return 0
                return self._incoming.take_into(target, size)

    def recv_exactly(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer if the peer closes first."""
        parts = []
        while size > 0:
            data = self.recv(size)
            if not data:
                break
            parts.append(data)
            size -= len(data)
        return b"".join(parts)

    def makefile(self, mode: str = "r", buffering: int | None = None, *,
                 encoding: str | None = None, errors: str | None = None,
                 newline: str | None = None) -> Any:
        """A file object over the plaintext stream, as ``socket.makefile`` gives one.

        The TLS connection stays open while such a file is: :meth:`close` sends close_notify
        only when the last one is closed too (``http.client`` reads a response body this way
        after closing the connection).
        """
        raw = PlaintextIO(self, mode, buffering)  # checks the arguments first
        with self._lock:
            self._io_refs += 1
        return buffered_file(raw, buffering, encoding, errors, newline)

    def key_update(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate (RFC 8446 section 4.6.3), asking the peer to update too if told."""
        with self._lock:
            self._driver.key_update(request_peer=request_peer)
        self._flush()

    def unwrap(self) -> socket.socket:
        """End TLS and give back the TCP socket for plaintext (the end of STARTTLS): send
        close_notify, read until the peer's (RFC 8446 section 6.1), then return the socket.

        Application data that arrives before the peer's close_notify is dropped; the peer must
        not send plaintext before it has ours.
        """
        with self._read_lock:
            with self._lock:
                if self._shut:
                    raise OSError("the TLS connection is closed")
                self._driver.close()
            self._flush()
            while not self._driver.close_notify_received:
                if self._eof:
                    raise self._driver.error or OSError("the TLS connection is closed")
                self._read_once()
            with self._lock:
                self._shut = self._close_called = self._eof = True
                # from here every call on the old socket fails with a sentence
                sock, self._sock = self._sock, cast(socket.socket, _Unwrapped())
        return sock

    def close(self) -> None:
        """Send close_notify (unless the connection already ended) and close the socket, once
        no file from :meth:`makefile` is open."""
        with self._lock:
            self._close_called = True
            if self._io_refs > 0:
                return
        self._real_close()

    def _decref_socketios(self) -> None:
        with self._lock:
            if self._io_refs > 0:
                self._io_refs -= 1
            closing = self._close_called and self._io_refs == 0
        if closing:
            self._real_close()

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("open" if self.handshake else "handshaking")
        return "<TLSSocket %s %s>" % (state, self.cipher_suite or "")

    # --- plumbing -----------------------------------------------------------------------------

    def _refuse_send(self) -> None:
        """Raise why nothing may be sent now."""
        driver = self._driver
        if driver.error is not None:
            raise BrokenPipeError("the TLS connection has ended: %s" % driver.error)
        if self._shut or driver.close_notify_sent:
            raise OSError("the TLS connection is closed")
        raise OSError("the TLS handshake is not complete")

    def _wait_for_plaintext(self, size: int) -> bool:
        """Read until plaintext is waiting; False at its end. Called under the read lock."""
        if size == 0:
            return False
        incoming = self._incoming
        while not incoming.size and not self._eof:
            if self._shut:
                return False
            self._read_once()
        return incoming.size > 0

    def _real_close(self) -> None:
        with self._lock:
            if self._shut:
                return
            self._driver.close()
        try:
            self._flush(wait=_CLOSE_WAIT)
        except OSError:
            pass
        finally:
            self._abort()

    def _close_soon(self) -> None:
        """For a server that stops: queue close_notify and write it if that can be done without
        waiting (no other thread writing, room in the socket buffer); never blocks."""
        with self._lock:
            if self._shut:
                return
            self._driver.close()
            self._outbox += self._driver.data_to_send()
        if not _DONTWAIT or not self._send_lock.acquire(blocking=False):
            return  # the writing thread sends it after what it is writing
        try:
            with self._lock:
                out = bytes(self._outbox)
            sent = self._sock.send(out, _DONTWAIT) if out else 0
            with self._lock:
                del self._outbox[:sent]
        except OSError:
            pass
        finally:
            self._send_lock.release()

    def _flush(self, wait: bool | float = True) -> None:
        """Move what the connection queued to the outbox and write the outbox."""
        with self._lock:
            self._outbox += self._driver.data_to_send()
        self._send_pending(wait)

    def _send_pending(self, wait: bool | float) -> None:
        """Write the outbox unless another thread is writing (it will write ours too).

        ``wait``: True waits for the writing thread, False does not, a number waits that many
        seconds at most. The writer gives up the writing lock while it holds the state lock
        and has found the outbox empty: a thread that queues later finds the writing lock free
        and writes its own bytes.
        """
        send_lock = self._send_lock
        if wait is True or wait is False:
            acquired = send_lock.acquire(wait)  # positional: no keyword parsing
        else:
            acquired = send_lock.acquire(True, wait)
        if not acquired:
            return
        while True:
            with self._lock:
                out = self._outbox
                if not out:
                    send_lock.release()
                    return
                self._outbox = bytearray()  # taken whole: no copy
            try:
                self._sock.sendall(out)
            except BaseException:
                send_lock.release()
                raise

    def _read_once(self) -> None:
        """Read once from the socket and feed the connection; EOF is fed as b"".

        The bytes go into a buffer this socket keeps, and the connection reads its records
        from there (keeping only an incomplete record's bytes): no new object per read.
        """
        buffer = self._read_buffer
        try:
            count = self._sock.recv_into(buffer)
            data = buffer[:count] if count else b""
        except OSError:
            if self._shut:
                self._eof = True
                return
            raise
        failure = None
        with self._lock:
            if self._shut:
                self._eof = True
                return
            try:
                self._driver.feed(data)
            except ProtocolError as exc:
                failure = exc  # the connection queued the alert for this fault
            except TLSError:
                self._abort()  # the peer's fatal alert, or the transport ended early
                raise
            else:
                self._outbox += self._driver.data_to_send()
                if self._driver.close_notify_received:
                    self._eof = True
            pending = bool(self._outbox)  # a KeyUpdate's answer, a ticket, a flight
        if failure is not None:
            self._send_alert_and_close()
            raise failure
        if pending:
            self._flush_quietly(wait=False)

    def _flush_quietly(self, wait: bool | float = True) -> None:
        try:
            self._flush(wait)
        except OSError:
            # The peer may already be gone (it closed after its close_notify): what it sent
            # still counts, and the next write reports the broken transport.
            pass

    def _send_alert_and_close(self) -> None:
        """Our fatal alert out, then close so that the peer can read it (RFC 8446 section 6.2).

        A socket closed with input unread makes the kernel answer with RST, which can destroy
        the alert before the peer has read it; so the write side is closed first (FIN after the
        alert) and input read and dropped until the peer closes, for ALERT_LINGER seconds at most.
        """
        self._flush_quietly(wait=_CLOSE_WAIT)
        with self._lock:
            if self._shut:
                return
            self._shut = self._eof = True
        _linger_close(self._sock, ALERT_LINGER)

    def _abort(self) -> None:
        """Close the socket without further TLS messages."""
        with self._lock:
            if not self._shut:
                self._shut = self._eof = True
                _shutdown(self._sock)


class _Unwrapped:
    """What a TLSSocket holds after unwrap(): every socket call fails."""

    def __getattr__(self, name):
        raise OSError("the TLS layer was unwrapped: use the socket unwrap() returned")


def _no_flags(flags: int, call: str) -> None:
    if flags:
        raise ValueError("non-zero flags not allowed in calls to %s() on a TLSSocket" % call)


def _shutdown(sock: socket.socket) -> None:
    """Close ``sock``, waking a thread blocked reading or writing it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _linger_close(sock: socket.socket, seconds: float) -> None:
    """Close the write side, read and drop input until EOF or ``seconds`` pass, then close."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            if not sock.recv(_READ_SIZE):
                break
    except OSError:
        pass
    finally:
        _shutdown(sock)
