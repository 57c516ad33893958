"""No request makes the gateway hold a body larger than its cap: refused with 413 before or while it arrives.

Through the gateway process on a real socket, since a chunked body is only ever seen that way.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlsplit

import orjson

from gateway.body_limit import DEFAULT_MAX_BODY_BYTES
from tests.e2e.pipeline.harness import Stack

CHUNK = b"a=" + b"x" * (64 * 1024 - 2)


def _connection(stack: Stack) -> http.client.HTTPConnection:
    url = urlsplit(stack.gateway_url)
    return http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        sent += len(CHUNK)
        yield CHUNK


def _post(
    stack: Stack, path: str, body: bytes | Iterator[bytes], headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    conn = _connection(stack)
    try:
        chunked = not isinstance(body, bytes)
        conn.request("POST", path, body=body, headers=headers, encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        conn.close()


def test_a_token_request_declaring_a_body_over_the_cap_is_refused_with_413(stack: Stack) -> None:
    conn = _connection(stack)
    try:
        conn.putrequest("POST", "/token")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(DEFAULT_MAX_BODY_BYTES + 1))
        conn.endheaders()  # not a byte of the body is sent: the answer comes anyway
        response = conn.getresponse()
        assert response.status == 413
        assert "larger than" in orjson.loads(response.read())["error_description"]
    finally:
        conn.close()


def test_a_chunked_token_request_is_stopped_once_past_the_cap(stack: Stack) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = _post(stack, "/token", _chunks(2 * DEFAULT_MAX_BODY_BYTES), headers)
    assert status == 413
    assert f"larger than {DEFAULT_MAX_BODY_BYTES} bytes" in str(body["error_description"])


def test_a_chunked_registration_past_the_cap_is_refused_with_413(stack: Stack) -> None:
    status, body = _post(stack, "/register", _chunks(2 << 20), {"Content-Type": "application/json"})
    assert status == 413
    assert "larger than" in str(body.get("error_description") or body.get("Message"))


def test_a_chunked_call_to_a_published_api_past_the_cap_is_refused_with_413(stack: Stack) -> None:
    status, body = _post(stack, "/open-banking/v4.0/aisp/accounts", _chunks(2 << 20), {"Content-Type": "text/plain"})
    assert status == 413
    assert body["Code"] == "413 PayloadTooLarge"


def test_a_body_under_the_cap_reaches_the_endpoint(stack: Stack) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = _post(stack, "/token", b"grant_type=client_credentials", headers)
    assert status == 401  # the endpoint read it and refused the client, not the size
    assert body["error"] == "invalid_client"
