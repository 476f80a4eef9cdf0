"""The listening socket: made the same way for every variant, so they compete fairly."""

from __future__ import annotations

import _socket
import contextlib
import socket
import struct


def open_listener(host: str, port: int, backlog: int, *, reuse_port: bool = False) -> socket.socket:
    """A bound, listening, non-blocking TCP socket; raises OSError with a readable reason."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def accept_waiting(
    listener: socket.socket, limit: int
) -> tuple[list[socket.socket], OSError | None]:
    """The connections waiting on the non-blocking `listener` (at most `limit`), and the
    error that stopped accepting, if any (e.g. out of file descriptors: the caller backs
    off, since the listener stays readable). A client that gave up is skipped. Each is
    blocking, as accept() leaves it.

    `_accept()` and the listener's family and type as plain numbers, read once per
    batch: `socket.accept()` turns both into enums for every connection, ~11% of the
    CPU of a `Connection: close` request on uvloop (py-spy)."""
    accepted: list[socket.socket] = []
    accept, make = listener._accept, Accepted  # type: ignore[attr-defined]
    family, kind, proto = int(listener.family), int(listener.type), listener.proto
    for _ in range(limit):
        try:
            fd, _ = accept()
        except (BlockingIOError, InterruptedError):
            break
        except ConnectionAbortedError:
            continue
        except OSError as error:
            return accepted, error
        accepted.append(make(family, kind, proto, fileno=fd))
    return accepted, None


class Accepted(socket.socket):
    """An accepted connection whose `family` and `type` read as plain numbers, as the C
    socket holds them: both event loops read them once or twice per connection, and
    `socket.socket` builds an enum for each read (~3% of a `Connection: close` request's
    CPU on uvloop, py-spy). The numbers compare equal to the enums."""

    __slots__ = ()
    family = _socket.socket.family  # type: ignore[assignment]
    type = _socket.socket.type  # type: ignore[assignment]


def url_of(sock: socket.socket) -> str:
    """`http://host:port` for a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def tune_connection(sock: socket.socket) -> None:
    """Small responses go out at once: Nagle's algorithm would delay pipelined replies."""
    with contextlib.suppress(OSError):  # not TCP (e.g. a socketpair in a test)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_LINGER_OFF = struct.pack("ii", 1, 0)  # SO_LINGER on with a zero timeout: close sends RST


def reset_on_close(sock: socket.socket) -> None:
    """Make the next close() reset the connection and drop its unsent bytes."""
    with contextlib.suppress(OSError):  # already closed, or not TCP
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_OFF)
