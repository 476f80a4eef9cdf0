"""The listening side every event-loop shell shares: the loop, accepting, the sweep, shutdown.

A shell subclasses `LoopServer` and says what to do with an accepted socket; everything
else is here, once: the loop the variant names (asyncio's or uvloop's), accepting with a
back-off when accept() fails (e.g. out of file descriptors), refusing connections over
--max-connections with a 503, the once-a-second sweep that gives overdue connections
their phase's answer (`server.shells.phases`), the store's coarse clock (`server.clock`),
and shutdown: stop accepting, close idle connections at once, let busy ones finish within
the grace period, then reset the rest.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from server.clock import RESOLUTION
from server.listener import accept_waiting, tune_connection
from server.response import DATE_LINE, Response
from server.runtime import ACCEPT_RETRY_DELAY, ServerContext
from server.shells.phases import TICK, Deadlines, Phase, too_many
from server.variants import VARIANTS


class Tracked(Protocol):
    """What the sweep and shutdown need of a connection."""

    def state(self) -> tuple[Phase, float]:
        """Its phase, and since when (loop time)."""
        ...

    def expire(self, phase: Phase) -> None:
        """`phase` outlasted its deadline: give the phase's answer (see `Phase`)."""
        ...

    def abort(self) -> None:
        """Drop the connection with a reset."""
        ...


class LoopServer(abc.ABC):
    """One event-loop server process: a shell subclasses it and implements `accepted`."""

    # True: `loop.sock_accept` in a loop (the sockets style). False: on readability, our
    # own accept() of every waiting connection: libuv (uvloop) accepts one connection per
    # loop iteration (under `ab -c 1000 -k` its queue drained at ~35/s while accepted
    # clients were served) and swallows EMFILE without a word.
    awaits_accept = False
    # True: `accepted` hands the socket to a transport, which makes it non-blocking and
    # sets TCP_NODELAY itself (asyncio's loop and uvloop's both do): two syscalls fewer
    # per connection. False (the sockets style reads the socket itself): done here.
    transported = True

    def __init__(self, context: ServerContext) -> None:
        self.context = context
        self.config = context.config
        self.loop = asyncio.get_running_loop()
        self.now = self.loop.time()  # coarse clock, advanced by the sweep
        self.deadlines = Deadlines(self.config)
        self.connections: set[Tracked] = set()
        self.stopping = False
        self.tasks: set[asyncio.Task[Any]] = set()
        self._accepting: asyncio.Task[None] | bool = False

    @abc.abstractmethod
    def accepted(self, sock: socket.socket) -> None:
        """Serve `sock`, just accepted, within the connection limit (non-blocking and tuned
        unless the shell is `transported`)."""

    def final(self, response: Response) -> Response:
        """At shutdown every response says the connection closes after it."""
        return response.closing() if self.stopping else response

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task the server holds on to until it is done."""
        task = self.loop.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def connect(self, sock: socket.socket, protocol: Callable[[], asyncio.Protocol]) -> None:
        """A transport and `protocol()` for an accepted socket (the Protocol style's).

        `connect_accepted_socket` is driven by hand (`_step`), not by a Task: its first step
        makes the transport at once, the next returns once `connection_made` ran. A Task per
        connection (made, registered, scheduled, stepped) cost ~5% of a `Connection: close`
        request's CPU on uvloop."""
        _step(self.loop.connect_accepted_socket(protocol, sock), sock)

    async def serve(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down gracefully."""
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(signum, stop.set)
        self._tick()
        self._advance_clock()
        self._start_accepting()
        self.context.on_ready()
        await stop.wait()
        await self._shut_down()

    # -- accepting ------------------------------------------------------------------------

    def _start_accepting(self) -> None:
        if self.stopping:
            return
        if self.awaits_accept:
            self._accepting = self.spawn(self._accept_forever())
        else:
            self.loop.add_reader(self.context.listener.fileno(), self._accept_waiting)
            self._accepting = True

    def _stop_accepting(self) -> None:
        if isinstance(self._accepting, asyncio.Task):
            self._accepting.cancel()
        elif self._accepting:
            self.loop.remove_reader(self.context.listener.fileno())
        self._accepting = False

    def _accept_waiting(self) -> None:
        """Accept every waiting connection, up to the backlog."""
        accepted, error = accept_waiting(self.context.listener, self.config.backlog)
        for sock in accepted:
            self._admit(sock)
        if error is not None:  # e.g. out of file descriptors: back off, then retry
            self._stop_accepting()
            self._back_off(error)

    async def _accept_forever(self) -> None:
        while True:
            try:
                sock, _ = await self.loop.sock_accept(self.context.listener)
            except ConnectionAbortedError:
                continue
            except OSError as error:
                self._accepting = False
                self._back_off(error)
                return
            self._admit(sock)

    def _back_off(self, error: OSError) -> None:
        """One log line per back-off, and no accepting meanwhile (the listener stays ready)."""
        self.context.accept_failed(error)
        self.loop.call_later(ACCEPT_RETRY_DELAY, self._start_accepting)

    def _admit(self, sock: socket.socket) -> None:
        if self.stopping or len(self.connections) >= self.config.max_connections:
            self._refuse(sock)
            return
        if not self.transported:
            sock.setblocking(False)
            tune_connection(sock)
        self.accepted(sock)

    def _refuse(self, sock: socket.socket) -> None:
        """A 503 if it fits in the socket's buffer at once, then close."""
        self.context.stats.refused_connections += 1
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.send(too_many())
        sock.close()

    # -- deadlines and shutdown ---------------------------------------------------------

    def _tick(self) -> None:
        self.now = self.loop.time()
        DATE_LINE.tick()
        self._sweep()
        self.loop.call_later(TICK, self._tick)  # also during shutdown: stalls still count

    def _advance_clock(self) -> None:
        self.context.clock.advance()  # the store's hits read it (see `server.clock`)
        self.loop.call_later(RESOLUTION, self._advance_clock)

    def _sweep(self) -> None:
        overdue, stopping = self.deadlines.overdue, self.stopping
        for connection in list(self.connections):
            phase, since = connection.state()
            if overdue(phase, since, self.now, stopping=stopping):
                connection.expire(phase)

    async def _shut_down(self) -> None:
        self.stopping = True
        self._stop_accepting()
        self._sweep()  # idle connections close now
        deadline = self.loop.time() + self.config.grace
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.abort()
        await asyncio.sleep(0)  # let the aborted connections' tasks end


def _step(opening: Coroutine[Any, Any, object], sock: socket.socket) -> None:
    """Run `opening` to its next await; go on when the future it awaits is done (at the
    loop's next turn after a bare yield, as `asyncio.sleep(0)` makes)."""
    try:
        waiting: asyncio.Future[object] | None = opening.send(None)
    except StopIteration:
        return
    except OSError:  # the client left before its transport was made
        sock.close()
        return
    if waiting is None:
        asyncio.get_running_loop().call_soon(_step, opening, sock)
    else:
        waiting.add_done_callback(lambda _: _step(opening, sock))


def run(context: ServerContext, server: Callable[[ServerContext], LoopServer]) -> None:
    """Serve with `server` on the loop the variant names (asyncio's or uvloop's)."""

    async def main() -> None:
        await server(context).serve()

    with asyncio.Runner(loop_factory=_loop_factory(VARIANTS[context.config.variant].loop)) as r:
        r.run(main())


def _loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if loop != "uvloop":
        return None  # asyncio's default loop
    import uvloop

    return uvloop.new_event_loop
