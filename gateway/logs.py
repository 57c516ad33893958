"""Structured logs: one JSON line per request, and no secret or account data in any log line.

Every record that passes through ``JsonFormatter`` or ``TextFormatter`` is redacted first:
values under sensitive keys (``authorization``, ``dpop``, ``client_assertion``, ``password``,
account identifiers, ...) are replaced whole, and free text is scrubbed of JWT-looking strings,
``Bearer``/``DPoP`` credentials, ``key=value`` secrets, card numbers (12-19 digits), IBANs and
UK sort code + account number pairs. Paths are logged without their query string, as the
route template when one matched.

``gateway.observation`` writes the per-request line (logger ``walletgate.access``) from
``request_facts``, which reads what the pipeline leaves on ``request.state`` (all optional
strings): ``api`` (published API name), ``operation`` (operationId), ``wallet`` (the calling
client_id), ``consent_id`` and ``trace_id`` (32 hex digits; otherwise the span current when the
response starts is used).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace
from starlette.types import Scope

from gateway.settings import Settings

REDACTED = "[redacted]"
ACCESS_LOGGER = "walletgate.access"

_SENSITIVE_KEY = re.compile(
    r"authorization|cookie|dpop|token|assertion|password|passwd|secret|credential|code_verifier|"
    r"private|jwk|^code$|client_cert|ssl_client|x-ssl|^pan$|card|cvv|sortcode|sort_code|accountnumber|"
    r"account_number|iban|identification|secondaryidentification",
    re.IGNORECASE,
)
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # compact JWS/JWE: base64url JSON header ("{" encodes to "ey") then dot-separated parts
    (re.compile(r"\bey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]*"), "[jwt]"),
    (re.compile(r"(?i)\b(bearer|dpop|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|id_token|token|client_assertion|assertion|code|code_verifier|"
            r"password|dpop|client_secret)=[^&\s\"']+"
        ),
        r"\1=" + REDACTED,
    ),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"), "[iban]"),
    # separators: space, hyphen, or a URL-encoded space
    (re.compile(r"\b\d{2}-\d{2}-\d{2}(?:[ -]|%20)?\d{8}\b|\b\d{6}(?: |%20)\d{8}\b"), "[account]"),
    (re.compile(r"\b(?:\d(?:[ -]|%20)?){11,18}\d\b"), "[number]"),
)


# Ids the gateway makes or has validated (UUIDs, hex trace ids): kept as they are.
_ID_KEYS = frozenset({"interaction_id", "trace_id", "span_id"})
_ID_VALUE = re.compile(r"[0-9a-fA-F-]{16,40}")


def redact_text(text: str) -> str:
    """Scrub credentials and account or card numbers from free text."""
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    """Redact a logged value: whole values under sensitive keys, patterns in every string."""
    if key and _SENSITIVE_KEY.search(key):
        return REDACTED
    if key in _ID_KEYS and isinstance(value, str) and _ID_VALUE.fullmatch(value):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


def current_trace_id() -> str | None:
    """The 32-hex trace id of the active OpenTelemetry span, if any."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged
# (but uvicorn's ``color_message``, the message again with terminal colour codes).
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": redact_text(record.getMessage()),
    }
    extra = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}
    fields.update(redact(extra))
    if "trace_id" not in fields and (trace_id := current_trace_id()):
        fields["trace_id"] = trace_id
    if record.exc_info:
        fields["error"] = redact_text(logging.Formatter().formatException(record.exc_info))
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line (orjson), redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return orjson.dumps(_fields(record), default=str).decode()


# Characters that would break a text line or drive the terminal: C0 controls, DEL, C1 NEL and the
# Unicode line and paragraph separators, written as their Python escapes.
_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, 0x85)} | {
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
_NEEDS_QUOTES = re.compile(r'[\s"=]')


def _one_text_line(text: str) -> str:
    """``text`` on one line: a request value (a path sent with ``%0a``) cannot start a forged log line."""
    return text.translate(_CONTROL_ESCAPES)


def _text_value(value: Any) -> str:
    """A ``key=value`` value: on one line, quoted when it holds a space, quote or ``=`` (one field stays one)."""
    text = _one_text_line(value if isinstance(value, str) else str(value))
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...`` for a terminal, redacted the same way.

    One record is one line (control characters escaped, values with spaces quoted) but for the
    traceback, whose lines are indented so that none of them can pass for a record of its own.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        message = _one_text_line(str(fields.pop("message")).rstrip())
        head = f"{fields.pop('ts')} {fields.pop('level'):<7} {fields.pop('logger')}: {message}"
        error = fields.pop("error", None)
        tail = " ".join(f"{k}={_text_value(v)}" for k, v in fields.items() if v is not None)
        lines = [f"{head} {tail}".rstrip()]
        if error:
            lines += ["  " + _one_text_line(line) for line in str(error).splitlines()]
        return "\n".join(lines)


def configure_logging(settings: Settings) -> None:
    """Send every log record (ours and uvicorn's) to stderr through one redacting formatter.

    ``log_format=auto`` means JSON in production mode and text in the demo.
    """
    json_lines = settings.log_format == "json" or (settings.log_format == "auto" and not settings.demo)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _UnfinishedOnPurpose) for f in uvicorn_errors.filters):
        uvicorn_errors.addFilter(_UnfinishedOnPurpose())
    # uvicorn's access lines carry the query string (authorization codes, request_uri): ours replace them.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers = []
    uvicorn_access.propagate = False


# Set by a relayed response the bank broke off: the gateway leaves that response unfinished on
# purpose, so that the wallet sees an incomplete body, and has logged it with the interaction id.
UNFINISHED_ON_PURPOSE: ContextVar[bool] = ContextVar("unfinished_on_purpose", default=False)
_UVICORN_UNFINISHED = "ASGI callable returned without completing response."


class _UnfinishedOnPurpose(logging.Filter):
    """Drops uvicorn's error line about an unfinished response when the gateway left it unfinished
    on purpose. uvicorn logs it from the request's own task, right after the application returns,
    so the flag the response set in that task is still visible."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == _UVICORN_UNFINISHED and UNFINISHED_ON_PURPOSE.get())


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the access log and the request metrics say about one request."""

    method: str
    route: str  # the matched route template, else the path; never the query string
    template: str | None  # the matched route template only (bounded: safe as a metric label)
    status: int
    seconds: float
    interaction_id: str | None
    api: str | None
    operation: str | None
    wallet: str | None
    consent_id: str | None
    trace_id: str | None  # set by the pipeline when its server span ended before the response went out


def _state_text(state: Mapping[str, Any], name: str, attr: str | None = None) -> str | None:
    """A ``request.state`` value as text; the pipeline may leave the object rather than its name."""
    value = state.get(name)
    if value is None:
        return None
    return str(getattr(value, attr, value) if attr else value)


def request_facts(scope: Scope, status: int, seconds: float) -> RequestFacts:
    state: Mapping[str, Any] = scope.get("state") or {}
    route = scope.get("route")
    path = getattr(route, "path", None)
    template = scope.get("root_path", "") + path if isinstance(path, str) else None
    return RequestFacts(
        method=scope["method"],
        route=template or scope["path"],
        template=template,
        status=status,
        seconds=seconds,
        interaction_id=_state_text(state, "interaction_id"),
        api=_state_text(state, "api", "name"),
        operation=_state_text(state, "operation", "operation_id"),
        wallet=_state_text(state, "wallet", "client_id"),
        consent_id=_state_text(state, "consent_id"),
        trace_id=_state_text(state, "trace_id"),
    )
