"""Errors render as the Open Banking body on API routes and RFC 6749 on OAuth endpoints."""

from __future__ import annotations

import errno

from redis import exceptions as redis_errors
from sqlalchemy import exc as sql_errors
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from consent.errors import ConsentNotFoundError
from gateway.errors import (
    GatewayError,
    InvalidTokenError,
    OAuthError,
    ResourceNotFoundError,
    backend_unavailable,
    handle_error,
)
from gateway.interaction import InteractionIdMiddleware


def _app(exc: Exception) -> TestClient:
    async def boom(request: Request) -> None:
        raise exc

    app = Starlette(
        routes=[Route("/open-banking/v4.0/aisp/accounts", boom), Route("/token", boom, methods=["POST"])],
        exception_handlers={GatewayError: handle_error, ConsentNotFoundError: handle_error, Exception: handle_error},
    )
    from starlette.middleware import Middleware

    app.user_middleware.insert(0, Middleware(InteractionIdMiddleware))
    return TestClient(app, raise_server_exceptions=False)


def test_api_error_renders_ob_error_response_with_path_and_interaction_id() -> None:
    client = _app(ResourceNotFoundError("No account acc-9 for this consent.", path="AccountId"))
    response = client.get(
        "/open-banking/v4.0/aisp/accounts", headers={"x-fapi-interaction-id": "93bac548-d2de-4546-b106-880a5018460d"}
    )
    assert response.status_code == 404
    assert response.headers["x-fapi-interaction-id"] == "93bac548-d2de-4546-b106-880a5018460d"
    assert response.json() == {
        "Code": "404 NotFound",
        "Id": "93bac548-d2de-4546-b106-880a5018460d",
        "Message": "No account acc-9 for this consent.",
        "Errors": [{"ErrorCode": "U011", "Message": "No account acc-9 for this consent.", "Path": "AccountId"}],
    }


def test_consent_errors_render_the_same_way() -> None:
    response = _app(ConsentNotFoundError()).get("/open-banking/v4.0/aisp/accounts")
    assert response.status_code == 404
    assert response.json()["Errors"][0]["ErrorCode"] == "U011"


def test_oauth_endpoint_errors_use_rfc6749_body_and_no_store() -> None:
    response = _app(OAuthError("code_verifier does not match")).post("/token")
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"error": "invalid_request", "error_description": "code_verifier does not match"}


def test_unexpected_exception_becomes_safe_500_without_internals() -> None:
    response = _app(RuntimeError("password=hunter2 in /srv/app.py")).get("/open-banking/v4.0/aisp/accounts")
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert response.json()["Errors"][0]["ErrorCode"] == "U000"


def test_error_messages_never_carry_line_breaks() -> None:
    exc = InvalidTokenError("bad\r\nSet-Cookie: x=1")
    assert "\n" not in exc.message
    assert "\r" not in exc.message
    assert "\n" not in exc.headers["WWW-Authenticate"]


def test_a_refusal_quoting_non_ascii_input_keeps_its_header_ascii() -> None:
    exc = InvalidTokenError("The token names the issuer 'b\u00e4nk \u2603'.")
    header = exc.headers["WWW-Authenticate"]
    assert header.isascii()
    assert "b\\\\xe4nk \\\\u2603" in header


def test_a_bearer_challenge_names_no_dpop_algorithms() -> None:
    class BearerRefusalError(InvalidTokenError):
        scheme = "Bearer"

    assert "algs=" not in BearerRefusalError("The certificate does not match.").headers["WWW-Authenticate"]
    assert 'algs="PS256 ES256 EdDSA"' in InvalidTokenError("Expired.").headers["WWW-Authenticate"]


def test_invalid_token_carries_www_authenticate() -> None:
    exc = InvalidTokenError("The access token has expired.")
    assert exc.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')


def test_a_database_that_cannot_be_reached_is_a_503_to_retry_on_an_api_route() -> None:
    response = _app(ConnectionRefusedError(111, "Connection refused")).get("/open-banking/v4.0/aisp/accounts")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["Errors"][0]["ErrorCode"] == "U000"
    assert "retry later" in body["Message"]
    assert "Connection refused" not in response.text


def test_a_database_that_cannot_be_reached_is_temporarily_unavailable_at_an_oauth_endpoint() -> None:
    response = _app(sql_errors.OperationalError("SELECT 1", {}, OSError("gone"))).post("/token")
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_redis_that_cannot_be_reached_is_a_503() -> None:
    response = _app(redis_errors.ConnectionError("Error 111 connecting")).get("/open-banking/v4.0/aisp/accounts")
    assert response.status_code == 503


def test_a_dropped_database_connection_is_a_503() -> None:
    dropped = sql_errors.DBAPIError("SELECT 1", {}, Exception("connection was closed"), connection_invalidated=True)
    assert backend_unavailable(dropped)


def test_a_database_error_that_is_not_about_reaching_it_stays_a_500() -> None:
    response = _app(sql_errors.IntegrityError("INSERT", {}, Exception("duplicate key"))).get(
        "/open-banking/v4.0/aisp/accounts"
    )
    assert response.status_code == 500


def test_a_programming_error_stays_a_500() -> None:
    assert _app(KeyError("oops")).get("/open-banking/v4.0/aisp/accounts").status_code == 500


def test_an_unreachable_network_is_a_503() -> None:
    assert backend_unavailable(OSError(errno.ENETUNREACH, "Network is unreachable"))


def test_a_missing_file_stays_a_500() -> None:
    assert not backend_unavailable(FileNotFoundError(errno.ENOENT, "No such file", "policies/x.yaml"))
    assert (
        _app(FileNotFoundError(errno.ENOENT, "No such file")).get("/open-banking/v4.0/aisp/accounts").status_code == 500
    )
