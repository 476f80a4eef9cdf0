"""The lean client and the keep-alive race: a server closes a connection it found idle.

A reused connection that ends before any byte of the reply is the normal race, and an
idempotent request goes once more on a fresh connection (counted). Everything else — a
fresh connection, a reply that had begun, a non-idempotent method, a second failure — is
still a failure.
"""

from __future__ import annotations

import socket
import time

import gevent
import pytest

from bench.engines.locust.scenarios.client import ClientError, LeanClient
from tests.bench.engines.lean_clients import client
from tests.bench.scripted_server import ScriptedServer, response

IDLE_S = 0.05  # the scripted server closes a connection this long after its reply


def reply_then_close_when_idle(connection: socket.socket, number: int, head: bytes) -> bool:
    """Answer, then close the connection once it has been idle for IDLE_S (a keep-alive
    timeout); the client's next request on it meets a closed connection."""
    connection.sendall(response(b"body %d" % number))
    time.sleep(IDLE_S)
    return False


def after_idle_close(lean: LeanClient, method: str = "GET") -> object:
    """A first request, the server's idle close, then a second request on that connection."""
    assert lean.request(method, "/first").body == b"body 0"
    gevent.sleep(4 * IDLE_S)  # the server has closed the connection by now
    return lean.request(method, "/second")


def test_a_get_on_a_connection_the_server_closed_while_idle_is_sent_again() -> None:
    with ScriptedServer(reply_then_close_when_idle) as server:
        lean = client(server)
        second = after_idle_close(lean)
    assert second.body == b"body 1"  # type: ignore[attr-defined]
    assert (lean.retries, lean.connections, server.requests) == (1, 2, 2)


def test_without_a_retry_the_same_close_is_a_failure() -> None:
    # The control: POST is not idempotent, so the same race fails the request.
    with ScriptedServer(reply_then_close_when_idle) as server:
        lean = client(server)
        with pytest.raises(ClientError, match="closed the connection before replying"):
            after_idle_close(lean, "POST")
    assert lean.retries == 0
    assert server.requests == 1


def test_a_fresh_connection_that_closes_unanswered_is_a_failure_never_retried() -> None:
    def close_at_once(connection: socket.socket, number: int, head: bytes) -> bool:
        return False

    with ScriptedServer(close_at_once) as server:
        lean = client(server)
        with pytest.raises(ClientError, match="before replying"):
            lean.request("GET", "/")
    assert (lean.retries, server.requests) == (0, 1)


def test_a_retry_that_fails_again_is_a_failure_and_only_one_retry_is_made() -> None:
    def first_only(connection: socket.socket, number: int, head: bytes) -> bool:
        if number == 0:
            connection.sendall(response(b"body 0"))
            time.sleep(IDLE_S)
        return False  # every later request: closed unanswered, on a fresh connection too

    with ScriptedServer(first_only) as server:
        lean = client(server)
        with pytest.raises(ClientError, match="before replying"):
            after_idle_close(lean)
    assert (lean.retries, server.requests) == (1, 2)


def test_a_close_after_part_of_the_reply_is_a_failure_never_retried() -> None:
    def half_a_reply(connection: socket.socket, number: int, head: bytes) -> bool:
        if number == 0:
            connection.sendall(response(b"body 0"))
            return True
        connection.sendall(response(b"body 1")[:10])
        return False

    with ScriptedServer(half_a_reply) as server:
        lean = client(server)
        assert lean.request("GET", "/first").body == b"body 0"
        with pytest.raises(ClientError):
            lean.request("GET", "/second")
    assert (lean.retries, server.requests) == (0, 2)
