"""The device side of the ADB transport protocol, over one TCP connection.

Enough of adbd for the real adb server (Debian's 29 and the adb 36 in the
adbutils wheel) to treat a Python process as a phone: the CNXN handshake
without AUTH, and streams opened by OPEN, carried by WRTE/OKAY and ended
by CLSE. The facts are in /work/shared/VIRTUAL_PHONE.md; in short:

- a message is a 24-byte header of little-endian u32s (command, arg0,
  arg1, data length, data "checksum", magic = command ^ 0xFFFFFFFF) and a
  payload; the checksum is a byte sum, sent only to peers older than
  0x01000001 and never checked on receipt;
- one WRTE may be in flight per direction per stream: a writer waits for
  the peer's OKAY before the next one;
- service names arrive with a trailing NUL.

Threads, not trio: the virtual phone is a separate process whose job is
to be simple and strict. Each connection has a reader thread; each stream
runs its service in a thread of its own.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_WRTE = 0x45545257
A_CLSE = 0x45534C43
A_VERSION = 0x01000001
A_VERSION_SKIP_CHECKSUM = 0x01000001
MAX_PAYLOAD = 256 * 1024
HEADER = struct.Struct("<6I")

# A service gets the open stream and runs until it is done; None refuses
# the OPEN (the host sees "closed").
Service = Callable[["Stream"], None]
OpenService = Callable[[str], Service | None]


class StreamClosedError(Exception):
    """The host closed the stream (or the connection went away)."""


class Stream:
    """One adb stream as a blocking byte pipe, for a service thread."""

    def __init__(self, connection: Connection, local_id: int, remote_id: int) -> None:
        self.local_id = local_id
        self.remote_id = remote_id
        self._connection = connection
        self._cond = threading.Condition()
        self._inbox = bytearray()
        self._closed = False  # by either side
        self._can_write = True  # the peer acknowledged our last WRTE

    def read(self, max_bytes: int = 65536) -> bytes:
        """Up to `max_bytes` the host sent; b"" once the stream is closed."""
        with self._cond:
            while not self._inbox and not self._closed:
                self._cond.wait()
            data = bytes(self._inbox[:max_bytes])
            del self._inbox[:max_bytes]
            return data

    def read_exact(self, size: int) -> bytes:
        """Exactly `size` bytes; `StreamClosedError` if the stream ends first."""
        chunks = bytearray()
        while len(chunks) < size:
            data = self.read(size - len(chunks))
            if not data:
                raise StreamClosedError(f"stream closed after {len(chunks)} bytes")
            chunks += data
        return bytes(chunks)

    def write(self, data: bytes) -> None:
        """Send `data`, one WRTE at a time, each acknowledged before the next."""
        limit = self._connection.max_payload
        for start in range(0, len(data), limit):
            with self._cond:
                while not self._can_write and not self._closed:
                    self._cond.wait()
                if self._closed:
                    raise StreamClosedError("stream closed while writing")
                self._can_write = False
            self._connection.send(
                A_WRTE, self.local_id, self.remote_id, data[start : start + limit]
            )

    def close(self) -> None:
        """Close from the device side (the host sees end of stream)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._connection.send(A_CLSE, self.local_id, self.remote_id)
        self._connection.forget(self.local_id)

    def wait_closed(self) -> None:
        """Block until the host closes the stream."""
        with self._cond:
            while not self._closed:
                self._cond.wait()

    # Called by the connection's reader thread.

    def _received(self, data: bytes) -> None:
        with self._cond:
            self._inbox += data
            self._cond.notify_all()

    def _acknowledged(self) -> None:
        with self._cond:
            self._can_write = True
            self._cond.notify_all()

    def _closed_by_peer(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Connection:
    """One host connection: handshake, then route messages to streams."""

    def __init__(self, sock: socket.socket, banner: str, open_service: OpenService):
        self._sock = sock
        self._banner = banner
        self._open_service = open_service
        self._send_lock = threading.Lock()
        self._streams: dict[int, Stream] = {}
        self._streams_lock = threading.Lock()
        self._next_id = 1
        self._peer_version = A_VERSION
        self.max_payload = MAX_PAYLOAD

    def serve(self) -> None:
        """Run until the host disconnects; closes every stream then."""
        try:
            while True:
                command, arg0, arg1, payload = self._receive()
                self._dispatch(command, arg0, arg1, payload)
        except (ConnectionError, OSError, EOFError) as exc:
            log.debug("host connection ended: %s", exc)
        finally:
            with self._streams_lock:
                streams = list(self._streams.values())
                self._streams.clear()
            for stream in streams:
                stream._closed_by_peer()
            self._sock.close()

    def send(self, command: int, arg0: int, arg1: int, payload: bytes = b"") -> None:
        checksum = 0
        if self._peer_version < A_VERSION_SKIP_CHECKSUM:
            checksum = sum(payload) & 0xFFFFFFFF
        header = HEADER.pack(
            command, arg0, arg1, len(payload), checksum, command ^ 0xFFFFFFFF
        )
        with self._send_lock:
            try:
                self._sock.sendall(header + payload)
            except OSError as exc:
                log.debug("send failed: %s", exc)

    def forget(self, local_id: int) -> None:
        with self._streams_lock:
            self._streams.pop(local_id, None)

    def _dispatch(self, command: int, arg0: int, arg1: int, payload: bytes) -> None:
        if command == A_CNXN:
            self._peer_version = arg0
            self.max_payload = min(MAX_PAYLOAD, arg1)
            # No AUTH: a userdebug/eng phone (ro.adb.secure=0) answers CNXN at once.
            self.send(A_CNXN, A_VERSION, MAX_PAYLOAD, self._banner.encode())
        elif command == A_OPEN:
            self._open(arg0, payload.rstrip(b"\0").decode("utf-8", "replace"))
        elif command == A_WRTE:
            stream = self._stream(arg1)
            if stream is not None:
                stream._received(payload)
                self.send(A_OKAY, stream.local_id, stream.remote_id)
        elif command == A_OKAY:
            stream = self._stream(arg1)
            if stream is not None:
                stream._acknowledged()
        elif command == A_CLSE:
            stream = self._stream(arg1)
            if stream is not None:
                self.forget(stream.local_id)
                stream._closed_by_peer()
        else:
            raise ConnectionError(f"unexpected adb command 0x{command:08x}")

    def _open(self, remote_id: int, name: str) -> None:
        service = self._open_service(name)
        if service is None:
            self.send(A_CLSE, 0, remote_id)
            return
        with self._streams_lock:
            local_id = self._next_id
            self._next_id += 1
            stream = Stream(self, local_id, remote_id)
            self._streams[local_id] = stream
        self.send(A_OKAY, local_id, remote_id)
        thread = threading.Thread(
            target=_run_service, args=(service, stream, name), daemon=True
        )
        thread.start()

    def _stream(self, local_id: int) -> Stream | None:
        with self._streams_lock:
            return self._streams.get(local_id)

    def _receive(self) -> tuple[int, int, int, bytes]:
        header = self._recv_exact(HEADER.size)
        command, arg0, arg1, length, _checksum, magic = HEADER.unpack(header)
        if magic != command ^ 0xFFFFFFFF:
            raise ConnectionError(f"bad magic for command 0x{command:08x}")
        return command, arg0, arg1, self._recv_exact(length) if length else b""

    def _recv_exact(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self._sock.recv(size - len(data))
            if not chunk:
                raise EOFError("host closed the connection")
            data += chunk
        return bytes(data)


def _run_service(service: Service, stream: Stream, name: str) -> None:
    try:
        service(stream)
    except StreamClosedError:
        log.debug("stream closed by the host service=%s", name)
    except Exception:
        log.exception("service failed service=%s", name)
    finally:
        stream.close()
