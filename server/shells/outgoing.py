"""A response on its way out of a non-blocking socket, resumable on writability.

The threaded shell keeps one per client while a send is under way: a pool thread starts it,
and if the socket's buffer fills, the selector thread resumes it when the socket is
writable, so no thread ever blocks on a slow reader. The body goes out with os.sendfile,
or, for this one response if sendfile cannot serve the file (or --sendfile off), through a
small buffer.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import BinaryIO

from server.response import Response

COPY_CHUNK = 64 * 1024  # the copy path's buffer: small, because slow readers hold one each
# os.sendfile's answers that mean "not for this file or socket", never "the client left".
UNAVAILABLE = frozenset(
    {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSOCK, errno.ESPIPE, errno.EOVERFLOW}
)


class FileShrank(OSError):
    """The file ended before the length announced in the head: the framing is broken."""


class Outgoing:
    """Head, then the streamed span (if any) of one response; `push` sends what it can."""

    def __init__(self, response: Response, *, sendfile: bool) -> None:
        self.response = response
        self.pending = memoryview(response.payload())
        span = response.streamed_span()
        self.file: BinaryIO | None = None
        self.offset = self.remaining = 0
        if span is not None:
            self.file = open(span.path, "rb")  # noqa: SIM115 -- closed by `close`
            self.offset, self.remaining = span.offset, span.length
        self.sendfile = sendfile and hasattr(os, "sendfile")
        self.copied = not self.sendfile  # which path ran, for the counters

    def push(self, sock: socket.socket) -> bool:
        """Send without blocking; True once everything is sent. Raises OSError."""
        try:
            while self.pending or self.remaining:
                if self.pending:
                    self.pending = self.pending[sock.send(self.pending) :]
                elif self.sendfile:
                    self._sendfile(sock)
                else:
                    self._refill()
        except BlockingIOError:
            return False
        return True

    def _sendfile(self, sock: socket.socket) -> None:
        assert self.file is not None
        try:
            sent = os.sendfile(sock.fileno(), self.file.fileno(), self.offset, self.remaining)
        except OSError as error:
            if error.errno not in UNAVAILABLE or self.offset != self._start:
                raise
            self.sendfile, self.copied = False, True  # this response only
            return
        self._advance(sent)

    @property
    def _start(self) -> int:
        span = self.response.streamed_span()
        return span.offset if span is not None else 0

    def _refill(self) -> None:
        assert self.file is not None
        self.file.seek(self.offset)
        chunk = self.file.read(min(COPY_CHUNK, self.remaining))
        self._advance(len(chunk))
        self.pending = memoryview(chunk)

    def _advance(self, sent: int) -> None:
        if sent == 0:
            raise FileShrank(errno.EIO, "file shrank while it was being sent")
        self.offset += sent
        self.remaining -= sent

    def close(self) -> None:
        """Let go of the file (always, whether the send finished or not)."""
        if self.file is not None:
            self.file.close()
            self.file = None
