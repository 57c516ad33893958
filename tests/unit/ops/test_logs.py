"""Redaction and the log formatters: no credential or account number survives a log line."""

from __future__ import annotations

import contextvars
import io
import logging
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider

from gateway.logs import (
    REDACTED,
    UNFINISHED_ON_PURPOSE,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    redact,
    redact_text,
)
from gateway.settings import Settings

JWT = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhbGljZSIsImp0aSI6IjEyMyJ9.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"token {JWT} seen", JWT),
        ("Authorization: Bearer opaque-token-value-123", "opaque-token-value-123"),
        ("Authorization: DPoP opaque-token-value-456", "opaque-token-value-456"),
        ("card 4111111111111111 declined", "4111111111111111"),
        ("card 4111 1111 1111 1111 declined", "4111 1111 1111 1111"),
        ("card 5500-0000-0000-0004 declined", "5500-0000-0000-0004"),
        ("account 12345612345678 opened", "12345612345678"),
        ("sort code and account 12-34-56 12345678", "12345678"),
        ("/accounts/12-34-56%2012345678", "12345678"),
        ("/cards/4111%201111%201111%201111", "4111%201111"),
        ("iban GB33BUKB20201555555555", "GB33BUKB20201555555555"),
        ("/callback?code=auth-code-secret&state=1", "auth-code-secret"),
        ("grant refresh_token=rt-secret-value", "rt-secret-value"),
        ("login password=hunter2-demo", "hunter2-demo"),
    ],
)
def test_redact_text_removes_secret(text: str, secret: str) -> None:
    assert secret not in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "GET /open-banking/v4.0/aisp/accounts 200",
        "latency 12.5 ms on 2026-11-23T10:00:00Z",
        "interaction 7d6a9d8c-3b1e-4c55-9c1e-0a4e2d1b2c3d",
    ],
)
def test_redact_text_keeps_ordinary_text(text: str) -> None:
    assert redact_text(text) == text


def test_redact_replaces_values_under_sensitive_keys() -> None:
    record = {
        "headers": {"Authorization": "x", "DPoP": "y", "Cookie": "z", "x-ssl-client-cert": "pem", "accept": "json"},
        "client_assertion": "a",
        "Identification": "12345678",
        "SecondaryIdentification": "roll-1",
        "pan": "4111",
        "span": "kept",
    }
    out = redact(record)
    assert out["headers"] == {
        "Authorization": REDACTED,
        "DPoP": REDACTED,
        "Cookie": REDACTED,
        "x-ssl-client-cert": REDACTED,
        "accept": "json",
    }
    assert out["client_assertion"] == REDACTED
    assert out["Identification"] == REDACTED
    assert out["SecondaryIdentification"] == REDACTED
    assert out["pan"] == REDACTED
    assert out["span"] == "kept"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("walletgate.test.ops")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_json_formatter_writes_one_redacted_object_per_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("issued %s", JWT, extra={"client_id": "wallet-1", "headers": {"dpop": JWT}, "status": 200})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    line = orjson.loads(lines[0])
    assert line["level"] == "info"
    assert line["logger"] == "walletgate.test.ops"
    assert line["message"] == "issued [jwt]"
    assert line["client_id"] == "wallet-1"
    assert line["status"] == 200
    assert line["headers"] == {"dpop": REDACTED}
    assert line["ts"].endswith("+00:00")
    assert JWT not in stream.getvalue()


def test_json_formatter_adds_the_current_trace_id(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("call") as span:
        logger.info("inside a span")
        expected = format(span.get_span_context().trace_id, "032x")
    logger.info("outside a span")
    first, second = (orjson.loads(line) for line in stream.getvalue().splitlines())
    assert first["trace_id"] == expected
    assert "trace_id" not in second


def test_json_formatter_redacts_exception_text(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError(f"bad card 4111111111111111 with {JWT}")
    except ValueError:
        logger.exception("failed")
    text = stream.getvalue()
    assert "4111111111111111" not in text
    assert JWT not in text
    assert "ValueError" in orjson.loads(text)["error"]


def test_text_formatter_redacts_like_json() -> None:
    record = logging.LogRecord("walletgate.x", logging.WARNING, __file__, 1, "saw %s", (JWT,), None)
    record.account = "12-34-56 12345678"
    line = TextFormatter().format(record)
    assert "warning" in line
    assert JWT not in line
    assert "12345678" not in line


def _uvicorn_unfinished_line() -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.error", logging.ERROR, "", 0, "ASGI callable returned without completing response.", None, None
    )


def _passes_uvicorn_error_filters(record: logging.LogRecord, unfinished_on_purpose: bool) -> bool:
    """Whether ``configure_logging``'s filters let ``record`` through; the logging set-up is restored after."""
    root, uvicorn_errors = logging.getLogger(), logging.getLogger("uvicorn.error")
    saved = (root.handlers[:], root.level, uvicorn_errors.handlers[:], uvicorn_errors.propagate)
    saved_filters = uvicorn_errors.filters[:]
    configure_logging(Settings())

    def check() -> bool:
        if unfinished_on_purpose:
            UNFINISHED_ON_PURPOSE.set(True)
        return bool(uvicorn_errors.filter(record))

    try:
        return contextvars.copy_context().run(check)
    finally:
        root.handlers, uvicorn_errors.handlers = saved[0], saved[2]
        root.setLevel(saved[1])
        uvicorn_errors.propagate = saved[3]
        uvicorn_errors.filters = saved_filters


def test_uvicorns_unfinished_response_line_is_dropped_when_the_gateway_broke_the_relay_off_on_purpose() -> None:
    assert not _passes_uvicorn_error_filters(_uvicorn_unfinished_line(), unfinished_on_purpose=True)


def test_uvicorns_unfinished_response_line_is_kept_for_any_other_response() -> None:
    assert _passes_uvicorn_error_filters(_uvicorn_unfinished_line(), unfinished_on_purpose=False)


def test_uvicorns_other_error_lines_are_kept_even_after_a_relay_was_broken_off() -> None:
    record = logging.LogRecord("uvicorn.error", logging.ERROR, "", 0, "Exception in ASGI application\n", None, None)
    assert _passes_uvicorn_error_filters(record, unfinished_on_purpose=True)


FORGED = "2026-01-01T00:00:00.000+00:00 info    walletgate.access: GET /admin/apis 200"


def test_text_formatter_keeps_a_line_break_in_the_message_from_starting_a_forged_line() -> None:
    """A path the router did not match is logged as sent; ``%0a`` in it must not start a new line."""
    record = logging.LogRecord(
        "walletgate.access", logging.INFO, "", 0, "%s %s %s", ("GET", f"/x\r\n{FORGED}", 404), None
    )
    lines = TextFormatter().format(record).splitlines()
    assert len(lines) == 1
    assert not any(line.startswith(FORGED) for line in lines)


def test_text_formatter_keeps_a_line_break_in_a_field_from_starting_a_forged_line() -> None:
    record = logging.LogRecord("walletgate.access", logging.INFO, "", 0, "GET", None, None)
    record.route = f"/x\n{FORGED}"
    assert len(TextFormatter().format(record).splitlines()) == 1


def test_text_formatter_keeps_a_field_value_from_forging_another_field() -> None:
    """``/x client_id=wallet-9`` is one route, not a route and a client id."""
    record = logging.LogRecord("walletgate.access", logging.INFO, "", 0, "GET", None, None)
    record.route = "/x client_id=wallet-9"
    record.status = 404
    line = TextFormatter().format(record)
    assert " client_id=wallet-9" not in line.replace('"/x client_id=wallet-9"', "")
    assert line.endswith('route="/x client_id=wallet-9" status=404')


def test_text_formatter_indents_a_traceback_so_an_exception_message_cannot_forge_a_line() -> None:
    try:
        raise ValueError(f"bad\n{FORGED}")
    except ValueError as exc:
        record = logging.LogRecord("walletgate.errors", logging.ERROR, "", 0, "failed", None, (ValueError, exc, None))
    first, *rest = TextFormatter().format(record).splitlines()
    assert first.endswith("walletgate.errors: failed")
    assert rest
    assert all(line.startswith("  ") for line in rest)
    assert any(FORGED in line for line in rest)


def test_text_formatter_escapes_other_control_characters() -> None:
    record = logging.LogRecord("walletgate.x", logging.INFO, "", 0, "a\x1b[2Jb\x00c\u2028d", None, None)
    line = TextFormatter().format(record)
    assert "\x1b" not in line
    assert "\x00" not in line
    assert "\u2028" not in line
    assert "a\\x1b[2Jb\\x00c\\u2028d" in line
