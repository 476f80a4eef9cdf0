"""Static-file semantics: which response a request gets (RFC 9110).

Decide first, then build: `route` turns a request into a store key (or an early answer),
`respond_to` turns the store's `Lookup` into a response, using the pure conditional and
range rules of `server.preconditions`. `StaticSite` runs that flow against a store in the
three ways the shells need (from memory only, async, blocking). No I/O happens here.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NamedTuple
from urllib.parse import urlsplit

from server.files import FileEntry, FileStore, Lookup, Missing, Redirect
from server.preconditions import CONDITIONAL_FIELDS, Outcome, evaluate
from server.protocol import ProtocolError, Request
from server.response import (
    CLOSE,
    KEEP_ALIVE,
    PERSIST,
    FileSpan,
    Response,
    header_lines,
    ok_payload,
    text_response,
)

NOT_FOUND_PAGE = "/not_found.html"
_ALLOW = header_lines(("Allow", "GET, HEAD"))
# Response(...) and Route(...) run a Python-level __new__; on the hot path they are built
# with tuple's own (same values, one C call).
_new = tuple.__new__


class Route(NamedTuple):
    """A request that needs the file store: the URL path to look up, and its query."""

    key: str
    query: str


# A flow yields store keys, receives their lookups, and returns the response.
Flow = Generator[str, Lookup, Response]


class StaticSite:
    """The one entry every shell calls: a request in, a response out."""

    def __init__(self, store: FileStore) -> None:
        self.store = store

    def respond_now(self, request: Request) -> Response | None:
        """The response if the store gives all it needs without awaiting; None: use `respond`."""
        step = route(request)
        if not isinstance(step, Route):
            return step
        found = self.store.lookup_now(step.key)
        if isinstance(found, FileEntry):
            return respond_to(request, found)  # the hot path, without the flow's overhead
        if found is None:
            return None
        flow = _flow(request, step)
        try:
            next(flow)
            key = flow.send(found)
            while (found := self.store.lookup_now(key)) is not None:
                key = flow.send(found)
        except StopIteration as done:
            response: Response = done.value
            return response
        return None

    def ready(self, key: str, send_body: bool, close: bool) -> bytes | None:
        """The payload for a plain GET (or HEAD) of `key` (`server.express`) when the file is
        in memory, saying `Connection: close` if `close`; None: take the general path."""
        entry = self.store.hit(key)
        if entry is None:
            return None
        return ok_payload(entry.full_headers, entry.body or b"", send_body, close)

    async def respond(self, request: Request) -> Response:
        """The response, reading files through the store's async path."""
        flow = _flow(request, route(request))
        try:
            key = next(flow)
            while True:
                key = flow.send(await self.store.lookup(key))
        except StopIteration as done:
            response: Response = done.value
            return response

    def respond_blocking(self, request: Request) -> Response:
        """The response, reading files with blocking calls (threaded shell)."""
        flow = _flow(request, route(request))
        try:
            key = next(flow)
            while True:
                key = flow.send(self.store.lookup_blocking(key))
        except StopIteration as done:
            response: Response = done.value
            return response


def _flow(request: Request, step: Route | Response) -> Flow:
    """Decide the response, yielding each store key whose lookup it needs."""
    if not isinstance(step, Route):
        return step
    found = yield step.key
    if isinstance(found, Missing):
        page = yield NOT_FOUND_PAGE
        return not_found(request, page)
    if isinstance(found, Redirect):
        return redirect(request, found, step.query)
    return respond_to(request, found)


def route(request: Request) -> Route | Response:
    """Method and target checks that need no file: a Route, or the answer itself."""
    method, target = request.method, request.target
    if method != "GET" and method != "HEAD":
        response = text_response(405, extra=_ALLOW)
        return _finish(request, response)
    if target[:1] == "/" and "#" not in target:  # origin form: `split_target`'s answer
        return _new(Route, target.partition("?")[::2])
    found, query = split_target(target)
    if found is None:
        return error_response(ProtocolError(400, "unsupported request target"), request)
    return Route(found, query)


def split_target(target: str) -> tuple[str | None, str]:
    """The still-encoded path and query of an origin- or absolute-form target (RFC 9112 §3.2)."""
    if target.startswith("/"):
        path, _, query = target.partition("#")[0].partition("?")
        return path, query
    parts = urlsplit(target)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None, ""
    return parts.path or "/", parts.query


def respond_to(request: Request, entry: FileEntry) -> Response:
    """The response for a found file, after conditionals and Range (RFC 9110 §13, §14)."""
    if entry.body is not None and CONDITIONAL_FIELDS.isdisjoint(request.headers):
        # The whole file from memory (`evaluate` would say FULL), finished as `_finish` does.
        connection = _CONNECTIONS[request.keep_alive, request.version]
        body = (200, entry.full_headers, entry.body, connection, request.method != "HEAD")
        return _new(Response, body)
    decision = evaluate(request, entry)
    if decision.outcome is Outcome.FULL:
        response = Response(200, entry.full_headers, _body(entry, 0, entry.size))
    elif decision.outcome is Outcome.PARTIAL:
        start, end = decision.first, decision.last
        headers = entry.meta_headers + header_lines(
            ("Content-Range", f"bytes {start}-{end}/{entry.size}"),
            ("Content-Length", end - start + 1),
        )
        response = Response(206, headers, _body(entry, start, end - start + 1))
    elif decision.outcome is Outcome.NOT_MODIFIED:
        response = Response(304, entry.validators, send_body=False)
    elif decision.outcome is Outcome.PRECONDITION_FAILED:
        response = text_response(412)
    else:
        extra = header_lines(("Content-Range", f"bytes */{entry.size}"))
        response = text_response(416, extra=extra)
    return _finish(request, response)


def not_found(request: Request, page: Lookup) -> Response:
    """404 with the site's not-found page as its body (plain text if it has none)."""
    if isinstance(page, FileEntry) and page.body is not None:
        response = Response(404, page.full_headers, page.body)
    else:
        response = text_response(404)
    return _finish(request, response)


def redirect(request: Request, found: Redirect, query: str) -> Response:
    """301 from a directory to its trailing-slash form, keeping the query."""
    location = found.location + (f"?{query}" if query else "")
    response = text_response(301, extra=header_lines(("Location", location)))
    return _finish(request, response)


def error_response(error: ProtocolError, request: Request | None = None) -> Response:
    """The answer to a refused request; framing may be lost, so the connection closes."""
    response = text_response(error.status, error.detail, close=True)
    return response if request is None else _finish(request, response, close=True)


def internal_error() -> Response:
    """500 for an unexpected failure; the details go to the log, never to the client."""
    return text_response(500, close=True)


def _body(entry: FileEntry, offset: int, length: int) -> bytes | FileSpan:
    if entry.body is None:
        return FileSpan(entry.real_path, offset, length)
    if offset == 0 and length == entry.size:
        return entry.body
    return entry.body[offset : offset + length]


# A response's connection line from (request.keep_alive, request.version): a 1.0 client that
# asked to stay is told it may, a 1.1 one needs no word (RFC 9112 §9.3).
_CONNECTIONS = {
    (True, "HTTP/1.1"): PERSIST,
    (True, "HTTP/1.0"): KEEP_ALIVE,
    (False, "HTTP/1.1"): CLOSE,
    (False, "HTTP/1.0"): CLOSE,
}


def _finish(request: Request, response: Response, *, close: bool = False) -> Response:
    """Apply HEAD (no body) and the connection's fate to a built response."""
    connection = CLOSE if close else _CONNECTIONS[request.keep_alive, request.version]
    send_body = response.send_body and request.method != "HEAD"
    if connection == response.connection and send_body == response.send_body:
        return response
    return Response(response.status, response.headers, response.body, connection, send_body)
