"""The threaded shell's selector thread: it holds every connection no pool thread works on.

It watches the listening socket (accepting with a back-off when accept() fails, a 503
over --max-connections), idle connections waiting for bytes, responses waiting for room
(resumed on writability, so no thread ever blocks on a slow reader) and lingering closes
(input discarded until the client's FIN). Once a second it sweeps them with the same
deadlines as every shell (`server.shells.phases`). The pool (`server.shells.threaded`)
decides what a client's bytes get; this module only moves connections between the two.
"""

from __future__ import annotations

import abc
import contextlib
import enum
import queue
import socket
import threading
import time
from dataclasses import dataclass, field

from server.listener import accept_waiting, tune_connection
from server.protocol import RequestParser
from server.response import Response
from server.runtime import ACCEPT_RETRY_DELAY, ServerContext
from server.shells.outgoing import Outgoing
from server.shells.phases import TICK, Deadlines, Phase, late_head, too_many
from server.shells.polling import READ, WRITE, Poller

_RECV_SIZE = 64 * 1024


class Next(enum.Enum):
    """What the selector does with a client a pool thread hands back."""

    READ = "wait for the next request"
    WRITE = "finish sending the response on writability"
    CLOSE = "close gracefully (FIN, then discard input until the client's FIN)"
    DROP = "close now"


@dataclass(eq=False)
class Client:
    """A connection and its parser; owned by the selector or by one pool thread at a time."""

    sock: socket.socket
    parser: RequestParser = field(default_factory=RequestParser)
    last_active: float = field(default_factory=time.monotonic)
    head_started: float = 0.0  # when the first bytes of the pending request arrived
    outgoing: Outgoing | None = None  # a response still being sent
    blocked_since: float = 0.0  # when its send last made progress
    then: Next = Next.READ  # what to do once the selector has it back
    lingering_since: float | None = None

    def state(self) -> tuple[Phase, float]:
        """Its phase and since when, for the sweep (a watched client is never BUSY)."""
        if self.outgoing is not None:
            return Phase.STALLED, self.blocked_since
        if self.lingering_since is not None:
            return Phase.LINGER, self.lingering_since
        if self.parser.has_partial_request:
            return Phase.HEAD, self.head_started
        return Phase.IDLE, self.last_active


class SelectorThread(abc.ABC):
    """The selector loop; the pool subclasses it and implements the abstract methods."""

    def __init__(self, context: ServerContext) -> None:
        self.context, self.config = context, context.config
        self.deadlines = Deadlines(self.config)
        self.selector = Poller()
        self.wake_reader, self.wake_writer = socket.socketpair()
        self.wake_reader.setblocking(False)
        self.handed_back: queue.SimpleQueue[Client] = queue.SimpleQueue()
        self.wake_pending = False  # a wake byte is on its way: no need for another
        self.watched: dict[socket.socket, Client] = {}  # held by the selector thread
        self.active = 0  # clients held by pool threads
        self.lock = threading.Lock()  # guards `active` and the counters
        self.stopping = False
        self.accept_resumes_at: float | None = None  # set while accepting is paused
        self.next_sweep = 0.0

    @abc.abstractmethod
    def to_pool(self, client: Client) -> None:
        """Hand a client with bytes waiting to a pool thread."""

    @abc.abstractmethod
    def finish(self, client: Client) -> Next:
        """Its response is all out: count it, say what comes next."""

    @abc.abstractmethod
    def failed(self, client: Client, error: OSError) -> Next:
        """Its send failed."""

    @abc.abstractmethod
    def abandon(self, client: Client) -> None:
        """Give up its send; its close will reset the connection."""

    @abc.abstractmethod
    def count(self, *, response: Response | None = None, connection: bool = False,
              refused: bool = False) -> None:  # fmt: skip
        """Count, under the lock."""

    def run_selector(self) -> None:
        """Run the selector loop until SIGINT/SIGTERM, then shut down gracefully."""
        self.selector.register(self.context.listener, READ, "listener")
        self.selector.register(self.wake_reader, READ, "wake")
        self.context.on_ready()
        self.next_sweep = time.monotonic() + TICK
        while not self.stopping:
            self._turn(TICK)
        self._shut_down()

    def request_stop(self) -> None:
        """From a signal handler: stop after this turn."""
        self.stopping = True
        self.wake()

    def wake(self) -> None:
        """Wake the selector (a pool thread handed a client back). One byte at a time: the
        selector takes back every client handed back before it read the byte (a send per
        request cost the selector a wake-up per request under keep-alive load)."""
        if self.wake_pending:
            return
        self.wake_pending = True
        with contextlib.suppress(OSError):
            self.wake_writer.send(b"\0")

    def _turn(self, timeout: float) -> None:
        """One round of the selector thread: events, the accept back-off, the sweep."""
        for data in self.selector.ready(timeout):
            self._on_ready(data)
        due = self.accept_resumes_at
        if due is not None and time.monotonic() >= due and not self.stopping:
            self.accept_resumes_at = None
            self.selector.register(self.context.listener, READ, "listener")
        now = time.monotonic()
        if now >= self.next_sweep:
            self._sweep(now)
            self.next_sweep = now + TICK

    def _on_ready(self, data: object) -> None:
        if data == "listener":
            self._accept_all()
        elif data == "wake":
            self._take_back_clients()
        elif not isinstance(data, Client):
            raise TypeError(data)
        elif data.outgoing is not None:
            self._resume_send(data)
        elif data.lingering_since is not None:
            self._discard_input(data)
        else:
            self._fired(data)
            self.to_pool(data)

    def _accept_all(self) -> None:
        accepted, error = accept_waiting(self.context.listener, self.config.backlog)
        for sock in accepted:
            self._admit(sock)
        if error is not None:  # e.g. out of file descriptors: keep serving the others
            self.context.accept_failed(error)
            self.selector.unregister(self.context.listener)
            self.accept_resumes_at = time.monotonic() + ACCEPT_RETRY_DELAY

    def _admit(self, sock: socket.socket) -> None:
        sock.setblocking(False)  # no thread ever blocks on a client
        if len(self.watched) + self.active >= self.config.max_connections:
            with contextlib.suppress(OSError):
                sock.send(too_many())
            sock.close()
            return self.count(refused=True)
        tune_connection(sock)
        self.count(connection=True)
        self._park(Client(sock), new=True)

    def _watch(self, client: Client, events: int, *, new: bool = False) -> None:
        """Watch for one of `events` (`server.shells.polling`): it fires once."""
        self.watched[client.sock] = client
        self.selector.watch(client.sock, events, client, new=new)

    def _fired(self, client: Client) -> None:
        """Its event fired (it is silent now): the selector no longer holds it."""
        del self.watched[client.sock]

    def _unwatch(self, client: Client) -> None:
        """Stop watching it before it is closed."""
        self.selector.unregister(client.sock)
        del self.watched[client.sock]

    def _park(self, client: Client, *, new: bool = False) -> None:
        """Watch an idle connection for its next request. From the selector thread, or
        (`Poller.shared`) from the pool thread that answered its last request."""
        client.last_active = time.monotonic()
        self._watch(client, READ, new=new)

    def _take_back_clients(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self.wake_reader.recv(4096)
        # After the read (which may take a byte sent after the flag was cleared, leaving it
        # set with no byte on its way: a stall), before the queue is: a client handed back
        # after this line is in the queue when it is read, or its thread sends a new byte.
        self.wake_pending = False
        while not self.handed_back.empty():
            self._take_back(self.handed_back.get())

    def _take_back(self, client: Client) -> None:
        """Do what the pool thread (or a finished send) says comes next."""
        if client.then is Next.WRITE:
            client.blocked_since = time.monotonic()
            self._watch(client, WRITE)
        elif client.then is Next.READ and not self.stopping:
            self._park(client)
        elif client.then is Next.DROP:
            client.sock.close()
        else:  # a lingering close (see `phases.LINGER`)
            with contextlib.suppress(OSError):
                client.sock.shutdown(socket.SHUT_WR)
            client.lingering_since = time.monotonic()
            self._watch(client, READ)

    def _resume_send(self, client: Client) -> None:
        """The socket is writable again: send what fits, and go on once it is all out."""
        assert client.outgoing is not None
        try:
            done = client.outgoing.push(client.sock)
        except OSError as error:
            client.then, done = self.failed(client, error), True
        else:
            client.blocked_since = time.monotonic()
            if done:
                client.then = self.finish(client)
        if not done:
            self.selector.watch(client.sock, WRITE, client)  # for the next room
            return
        self._fired(client)
        if client.then is Next.READ and (client.parser.has_partial_request or self.stopping):
            # Pipelined requests are waiting, answered even at shutdown: in the parser, or
            # at shutdown perhaps still unread in the socket (the pool reads once; with
            # nothing there, it hands the client back to be closed).
            self.to_pool(client)
        else:
            self._take_back(client)

    def _discard_input(self, client: Client) -> None:
        try:
            data = client.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            data = None
        except OSError:
            data = b""
        if data == b"":
            self._fired(client)
            client.sock.close()
        else:  # more to discard, or none after all: wait for the next
            self.selector.watch(client.sock, READ, client)

    def _sweep(self, now: float) -> None:
        """Give every overdue client its phase's answer."""
        for client in list(self.watched.values()):
            phase, since = client.state()
            if self.deadlines.overdue(phase, since, now, stopping=False):
                self._expire(client, phase)

    def _expire(self, client: Client, phase: Phase) -> None:
        self._unwatch(client)
        if phase is Phase.STALLED:
            self.context.send_timed_out()
            self.abandon(client)
        elif phase is Phase.HEAD:
            with contextlib.suppress(OSError):
                client.sock.send(late_head().payload())
                self.count(response=late_head())
        client.sock.close()

    def _shut_down(self) -> None:
        """Stop accepting, close idle connections, give busy ones the grace period."""
        if self.accept_resumes_at is None:
            self.selector.unregister(self.context.listener)
        self.context.listener.close()
        self._close_idle()
        deadline = time.monotonic() + self.config.grace
        while (self.active or self._sending()) and time.monotonic() < deadline:
            self._turn(0.05)
        self._close_idle()  # parked by a pool thread that missed `stopping` by a hair

    def _close_idle(self) -> None:
        for client in list(self.watched.values()):
            if client.state()[0] in (Phase.IDLE, Phase.HEAD):
                self._unwatch(client)
                client.sock.close()

    def _sending(self) -> bool:
        # A copy first: a pool thread may park a client meanwhile (`_park`).
        return any(client.outgoing is not None for client in list(self.watched.values()))
