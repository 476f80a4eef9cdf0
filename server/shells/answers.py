"""What every shell does with a parsed request, in one place: answer it, count it.

A shell whose parser holds nothing asks `answer_express` first (ready bytes for the
express lane), then `answer_now` (the response when everything it needs is in memory: no
task, no await) and `answer` otherwise; an unexpected error becomes one log line and a
500 here, never in a shell. `counted` is called after a response's last byte is handed
to the kernel, so the counters never count a response a client did not get.
"""

from __future__ import annotations

from collections.abc import Callable

from server import express
from server.protocol import Request
from server.response import Response
from server.runtime import ServerContext
from server.static import internal_error


def answer_express(
    context: ServerContext, data: bytes, write: Callable[[bytes], object]
) -> bool | None:
    """`write` the ready bytes and count them (a 200, as `counted` does) when `data` is one
    plain request the site holds in memory (`server.express`), then whether the connection
    closes after them (`Connection: close`); None: parse it."""
    plain = express.plain(data)
    if plain is None:
        return None
    try:
        ready = context.site.ready(*plain)
    except Exception as error:
        context.report_crash("ready", error)
        return None  # the general path answers it (a 500 if it fails there too)
    if ready is None:
        return None
    write(ready)
    context.stats.requests += 1
    return plain[2]


def answer_now(context: ServerContext, request: Request) -> Response | None:
    """The response if it is ready in memory; None when the store must read."""
    try:
        return context.site.respond_now(request)
    except Exception as error:
        context.report_crash("respond_now", error)
        return internal_error()


async def answer(context: ServerContext, request: Request) -> Response:
    """The response, reading through the store's async path when it must."""
    response = answer_now(context, request)
    if response is not None:
        return response
    try:
        return await context.site.respond(request)
    except Exception as error:
        context.report_crash("respond", error)
        return internal_error()


def counted(context: ServerContext, response: Response) -> None:
    """Count a response whose last byte is out (event-loop shells: one thread, no lock)."""
    stats = context.stats
    stats.requests += 1
    if response.status >= 400:
        stats.errors_4xx_5xx += 1


def answer_blocking(context: ServerContext, request: Request) -> Response:
    """The response, reading with blocking calls (the threaded shell's pool threads)."""
    try:
        return context.site.respond_blocking(request)
    except Exception as error:
        context.report_crash("respond_blocking", error)
        return internal_error()
