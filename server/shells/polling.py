"""The selector thread's poller: sockets watched for reading or writing, and what each stands
for, over `select.epoll` (`select.poll` where there is none).

It replaces `selectors.DefaultSelector`, whose register and select build a `SelectorKey`
and look the descriptor up through several Python calls: under keep-alive load, with one
unregister and one register per request, that was ~30% of the selector thread's time
(py-spy). A connection is watched for one event at a time (EPOLLONESHOT): once it fired
it stays in the set but silent, so handing it to a pool thread costs no call, and on
epoll (`shared`) the pool thread may watch it again itself, with one `epoll_ctl`, instead
of handing it back through the selector thread. Events are not told apart: a ready
connection's state says what it waits for; hang-ups and errors count as ready.
"""

from __future__ import annotations

import select
import socket

READ = select.POLLIN  # the same numbers as EPOLLIN and EPOLLOUT
WRITE = select.POLLOUT


class Poller:
    """The listener and wake-up sockets, always watched, and connections watched once."""

    def __init__(self) -> None:
        # True: `watch` may be called from any thread (epoll's set lives in the kernel);
        # poll's lives in the object and is read when poll() starts: selector thread only.
        self.shared = hasattr(select, "epoll")
        if self.shared:
            self._epoll: select.epoll | None = select.epoll()
            self._poll: select.epoll | select.poll = self._epoll
        else:  # pragma: no cover -- not Linux
            self._epoll, self._poll = None, select.poll()
        self._watched: dict[int, object] = {}  # what each watched socket stands for
        self._always: set[int] = set()  # the listener and the wake-up socket

    def register(self, sock: socket.socket, events: int, data: object) -> None:
        """Watch `sock` (the listener, the wake-up socket) until `unregister`."""
        fd = sock.fileno()
        self._poll.register(fd, events)
        self._watched[fd] = data
        self._always.add(fd)

    def watch(self, sock: socket.socket, events: int, data: object, *, new: bool = False) -> None:
        """Watch connection `sock` (`new`: not in the set yet) for one of `events`; once
        `ready` gave its `data`, it is silent until watched again."""
        fd = sock.fileno()
        self._watched[fd] = data  # before the event can fire
        if self._epoll is None:  # pragma: no cover -- not Linux: `ready` unregisters it
            self._poll.register(fd, events)
        elif new:
            self._epoll.register(fd, events | select.EPOLLONESHOT)
        else:
            self._epoll.modify(fd, events | select.EPOLLONESHOT)

    def unregister(self, sock: socket.socket) -> None:
        """Take `sock` out of the set (before it is closed), watched or silent."""
        fd = sock.fileno()
        data = self._watched.pop(fd, None)
        self._always.discard(fd)
        if self._epoll is not None:
            self._epoll.unregister(fd)  # in the kernel's set until closed, even when silent
        elif data is not None:  # pragma: no cover -- not Linux; poll forgets a fired one
            self._poll.unregister(fd)

    def ready(self, timeout: float) -> list[object]:
        """What the sockets ready within `timeout` seconds stand for."""
        if self._epoll is not None:
            events = self._epoll.poll(timeout)
        else:  # pragma: no cover -- not Linux; poll's timeout is in milliseconds
            events = self._poll.poll(timeout * 1000)
        watched, always = self._watched, self._always
        found = []
        for fd, _ in events:
            data = watched.get(fd)
            if data is None:
                continue
            if fd not in always:  # a connection: it fired, it is silent now
                del watched[fd]
                if self._epoll is None:  # pragma: no cover -- not Linux
                    self._poll.unregister(fd)
            found.append(data)
        return found
