"""A loopback server whose replies a test writes byte by byte: `ScriptedServer(reply)`.

Each accepted connection runs in its own thread: read a request head, call
`reply(connection, request_number, head)` (numbered across all connections, from 0), and
go on until the client closes or `reply` returns False (the server then closes). It lets a
test send what no correct server would: dribbled bytes, two replies in one packet, a close
mid-body, a wrong Content-Length, a stall.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

Reply = Callable[[socket.socket, int, bytes], bool]


def response(body: bytes, *extra: str, status: str = "200 OK", version: str = "HTTP/1.1") -> bytes:
    """A well-framed response (Content-Length) with `extra` header lines."""
    lines = [f"{version} {status}", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def dribble(connection: socket.socket, data: bytes, pause_s: float = 0.001) -> None:
    """One byte per packet (TCP_NODELAY and a pause between sends)."""
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for index in range(len(data)):
        connection.sendall(data[index : index + 1])
        time.sleep(pause_s)


class ScriptedServer:
    """A context manager: listening on 127.0.0.1 while inside, every thread stopped after."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Self:
        self._spawn(self._accept)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(0.2)
        buffer = b""
        with connection:
            while not self._stop.is_set():
                if b"\r\n\r\n" not in buffer:
                    try:
                        data = connection.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    buffer += data
                    continue
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                with self._lock:
                    number, self.requests = self.requests, self.requests + 1
                if not self.reply(connection, number, head):
                    return
