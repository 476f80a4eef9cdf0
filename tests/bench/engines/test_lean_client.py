"""The lean client against real sockets: servers that dribble, batch, lie and stall.

Every test runs on both response parsers where the parser can frame the case; a failure
must raise ClientError and drop the connection, so the next request starts clean.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bench.engines.locust.scenarios.client import ClientError, LeanClient
from bench.engines.locust.scenarios.framing import PARSERS, MinimalParser
from tests.bench.engines.lean_clients import client, closed_at_end
from tests.bench.scripted_server import ScriptedServer, dribble, response

BODIES = [b"first", b"second response", b"3"]
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nchunks\r\n0\r\nTrailer: x\r\n\r\n"
)


@pytest.fixture(params=list(PARSERS))
def parser(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_reply_dribbled_one_byte_per_packet(parser: str) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        dribble(connection, response(BODIES[number % 3], 'ETag: "abc"'))
        return True

    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        first, second = lean.request("GET", "/a"), lean.request("GET", "/b")
    assert (first.status, first.body, first.headers["etag"]) == (200, BODIES[0], '"abc"')
    assert second.body == BODIES[1]
    assert lean.connections == 1


def test_repeated_header_fields_are_joined_and_names_lower_case(parser: str) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(response(b"x", "Vary: Accept", "X-Tag: a", "vary: Range"))
        return True

    with ScriptedServer(reply) as server:
        headers = client(server, parser).request("GET", "/").headers
    assert dict(headers) == {"content-length": "1", "vary": "Accept, Range", "x-tag": "a"}
    assert headers.get("etag") is None


def test_a_request_larger_than_the_send_buffer_is_sent_whole(parser: str) -> None:
    # 4 MiB of header cannot go out in one send: the client waits until it can write more.
    heads: list[bytes] = []

    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        heads.append(head)
        connection.sendall(response(b"took it"))
        return True

    big = "v" * (4 * 1024 * 1024)
    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        assert lean.request("GET", "/big", {"X-Big": big}).body == b"took it"
        assert lean.request("GET", "/next").body == b"took it"
    assert heads[0].endswith(f"X-Big: {big}".encode())
    assert lean.connections == 1


def test_several_replies_in_one_packet_are_split_exactly(parser: str) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        if number == 0:  # the replies to this request and the next one, in one send
            connection.sendall(response(BODIES[0]) + response(BODIES[1], "X-N: 2"))
        elif number == 2:
            connection.sendall(response(BODIES[2]))
        return True

    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        bodies = [lean.request("GET", f"/{n}").body for n in range(3)]
    assert bodies == BODIES
    assert lean.connections == 1


@pytest.mark.parametrize("dribbled", [False, True], ids=["one-packet", "dribbled"])
def test_a_chunked_reply_is_dechunked(parser: str, dribbled: bool) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        data = CHUNKED + response(b"after")  # the next reply must start cleanly after it
        if dribbled:
            dribble(connection, data)
        else:
            connection.sendall(data)
        return True

    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        chunked = lean.request("GET", "/chunked")
        after = lean.request("GET", "/next")
    assert chunked.body == b"hello chunks"
    assert after.body == b"after"
    assert lean.connections == 1


def test_a_close_mid_body_fails_and_the_next_request_reconnects(parser: str) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        whole = response(b"x" * 100)
        connection.sendall(whole[:-50] if number == 0 else whole)
        return number != 0  # close after the short one

    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        with pytest.raises(ClientError):
            lean.request("GET", "/short")
        assert lean.request("GET", "/whole").body == b"x" * 100
    assert lean.connections == 2


def test_a_too_short_content_length_poisons_no_later_reply(parser: str) -> None:
    # The server says 5 but sends 10 bytes: the extra 5 must never be read as (part of) a
    # reply. The minimal parser fails the next request on that connection (its reply starts
    # with them); llhttp fails at once, as it parses past the first reply. Either way the
    # connection is dropped and a later request reads a clean reply on a new one.
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        if number == 0:
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloWORLD")
        else:
            connection.sendall(response(b"clean"))
        return True

    outcomes: list[bytes | None] = []
    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        for path in ("/lies", "/misframed", "/clean"):
            try:
                outcomes.append(lean.request("GET", path).body)
            except ClientError:
                outcomes.append(None)
    assert outcomes in ([b"hello", None, b"clean"], [None, b"clean", b"clean"])
    assert lean.connections == 2


def test_a_too_long_content_length_times_out() -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly ten b")
        return True

    with ScriptedServer(reply) as server:
        lean = client(server, timeout=0.5)
        with pytest.raises(ClientError, match="timeout"):
            lean.request("GET", "/")


def test_connection_close_replies_reconnect_before_the_next_request(parser: str) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(response(b"bye", "Connection: close"))
        time.sleep(0.05)  # the client must not wait for the close: it reconnects by itself
        return False

    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        bodies = [lean.request("GET", "/", {"Connection": "close"}).body for _ in range(3)]
    assert bodies == [b"bye"] * 3
    assert lean.connections == server.connections == 3


@pytest.mark.parametrize(
    ("extra", "reuses"), [((), False), (("Connection: keep-alive",), True)], ids=["1.0", "1.0-ka"]
)
def test_http_1_0_replies_close_unless_kept_alive(
    parser: str, extra: tuple[str, ...], reuses: bool
) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(response(b"old", *extra, version="HTTP/1.0"))
        return reuses

    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        assert [lean.request("GET", "/").body for _ in range(2)] == [b"old", b"old"]
    assert lean.connections == (1 if reuses else 2)


def test_a_body_ended_by_the_close(parser: str) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        return False

    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        assert lean.request("GET", "/").body == b"until the end"
        assert lean.request("GET", "/").body == b"until the end"
    assert lean.connections == 2


def test_no_body_for_304_204_and_interim_replies(parser: str) -> None:
    # A 304 carries the Content-Length of the representation, but no body: the next reply
    # on the same connection must frame cleanly after it.
    replies = [
        b'HTTP/1.1 304 Not Modified\r\nETag: "e"\r\nContent-Length: 1234\r\n\r\n',
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n" + response(b"after interim"),
    ]

    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(replies[number])
        return True

    with ScriptedServer(reply) as server:
        lean = client(server, parser)
        got = [lean.request("GET", "/") for _ in replies]
    assert [(r.status, r.body) for r in got] == [(304, b""), (204, b""), (200, b"after interim")]
    assert lean.connections == 1


def test_no_body_for_head_with_the_minimal_parser() -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n" + response(b"x"))
        return True

    with ScriptedServer(reply) as server:
        lean = client(server, "minimal")
        assert lean.request("HEAD", "/").body == b""
        assert lean.request("GET", "/").body == b"x"  # sent with the HEAD reply
    assert lean.connections == 1


def test_httptools_refuses_to_frame_a_head_reply() -> None:
    # llhttp cannot be told the request was HEAD: a failure, never a misframed body.
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
        return True

    with ScriptedServer(reply) as server:
        lean = client(server, "httptools")
        with pytest.raises(ClientError, match="HEAD"):
            lean.request("HEAD", "/")


def test_a_stalled_server_is_a_timeout_failure(parser: str) -> None:
    released = threading.Event()

    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        if number == 0:
            released.wait(10)  # never answers the first request
            return False
        connection.sendall(response(b"ok"))
        return True

    with ScriptedServer(reply) as server:
        lean = client(server, parser, timeout=0.3)
        began = time.monotonic()
        with pytest.raises(ClientError, match="timeout"):
            lean.request("GET", "/stall")
        waited = time.monotonic() - began
        released.set()
        assert lean.request("GET", "/").body == b"ok"
    assert 0.3 <= waited < 5.0  # the timeout, with a busy machine's margin
    assert lean.connections == 2


@pytest.mark.parametrize(
    "bad",
    [
        b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["status", "version", "two-lengths", "negative-length", "header", "chunk-size"],
)
def test_a_misframed_reply_is_a_failure(parser: str, bad: bytes) -> None:
    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(bad if number == 0 else response(b"fine"))
        return number != 0

    with ScriptedServer(reply) as server:
        lean = client(server, parser, timeout=2.0)
        with pytest.raises(ClientError):
            lean.request("GET", "/")
        assert lean.request("GET", "/").body == b"fine"


def test_request_bytes_are_built_once_per_distinct_request() -> None:
    heads: list[bytes] = []

    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        heads.append(head)
        connection.sendall(response(b""))
        return True

    with ScriptedServer(reply) as server:
        lean = client(server)
        for _ in range(3):
            lean.request("GET", "/a", {"If-None-Match": '"e"'})
        lean.request("GET", "/b")
    port = server.port
    assert heads[0] == f'GET /a HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nIf-None-Match: "e"'.encode()
    assert heads[1:3] == [heads[0], heads[0]]
    assert heads[3] == f"GET /b HTTP/1.1\r\nHost: 127.0.0.1:{port}".encode()
    assert len(lean._requests) == 2


def test_feeding_one_byte_at_a_time_gives_the_same_responses() -> None:
    stream = response(b"one", "ETag: x") + CHUNKED + response(b"two")
    whole, dribbled = MinimalParser(), MinimalParser()
    whole.feed(stream)
    at_once = [whole.next_response(False) for _ in range(3)]
    one_by_one = []
    for index in range(len(stream)):
        dribbled.feed(stream[index : index + 1])
        found = dribbled.next_response(False)
        if found is not None:
            one_by_one.append(found)
    assert at_once == one_by_one
    assert [r.body for r in one_by_one if r is not None] == [b"one", b"hello chunks", b"two"]
    assert whole.next_response(False) is None


def test_a_refused_connection_is_a_failure_and_leaves_nothing_open() -> None:
    with socket.socket() as placeholder:  # a port nothing listens on while the test runs
        placeholder.bind(("127.0.0.1", 0))
        lean = closed_at_end(LeanClient("127.0.0.1", placeholder.getsockname()[1], timeout=5.0))
        for _ in range(2):  # a second attempt tries again, it is not stuck on the first
            with pytest.raises(ClientError, match="ConnectionRefusedError"):
                lean.request("GET", "/")
    assert lean.connections == 0


def test_a_name_is_resolved_once_and_every_reconnect_uses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench.engines.locust.scenarios import client as module

    lookups: list[tuple[object, ...]] = []
    real = module.getaddrinfo

    def counted(*args: object, **kwargs: object) -> object:
        lookups.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "getaddrinfo", counted)

    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        connection.sendall(response(b"bye", "Connection: close"))
        return False

    with ScriptedServer(reply) as server:
        lean = closed_at_end(LeanClient("localhost", server.port, timeout=5.0))
        bodies = [lean.request("GET", "/").body for _ in range(3)]
    assert bodies == [b"bye"] * 3
    assert lean.connections == server.connections == 3
    assert lookups == [("localhost", server.port)]
