"""The selector thread's poller: file descriptors watched for reading or writing, and what each
stands for, over `select.epoll` (`select.poll` where there is none).

It replaces `selectors.DefaultSelector`, whose register and select build a `SelectorKey`
and look the descriptor up through several Python calls: under keep-alive load, with one
unregister and one register per request, that was ~30% of the selector thread's time
(py-spy). Events are not told apart: a ready connection's state says what it waits for.
"""

from __future__ import annotations

import select
import socket

READ = select.POLLIN  # the same numbers as EPOLLIN and EPOLLOUT
WRITE = select.POLLOUT


class Poller:
    """Sockets watched for READ or WRITE, each with the object it stands for."""

    def __init__(self) -> None:
        if hasattr(select, "epoll"):
            self._poll: select.epoll | select.poll = select.epoll()
            self._per_second = 1.0  # epoll's timeout is in seconds, poll's in milliseconds
        else:  # pragma: no cover -- not Linux
            self._poll, self._per_second = select.poll(), 1000.0
        self._watched: dict[int, object] = {}

    def register(self, sock: socket.socket, events: int, data: object) -> None:
        """Watch `sock` for `events`; `ready` gives `data` when it is."""
        fd = sock.fileno()
        self._poll.register(fd, events)
        self._watched[fd] = data

    def unregister(self, sock: socket.socket) -> None:
        """Stop watching `sock` (before it is closed or handed to another thread)."""
        fd = sock.fileno()
        self._poll.unregister(fd)
        del self._watched[fd]

    def ready(self, timeout: float) -> list[object]:
        """What the sockets ready within `timeout` seconds stand for (hang-ups and errors
        count as ready: the next read or send finds them)."""
        events = self._poll.poll(timeout * self._per_second)
        watched = self._watched
        return [watched[fd] for fd, _ in events if fd in watched]

