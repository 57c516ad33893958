"""Client spans for the gateway's own database and Redis calls, children of the request's span.

``trace_clients`` runs once at start-up and only when tracing is on. It adds SQLAlchemy cursor
events to the one engine and wraps each Redis client *instance* with
opentelemetry-instrumentation-redis (``instrument_client``): no class is patched, so with
tracing off nothing is installed and nothing is skipped on the hot path. It returns the
function that takes every hook off again; the app's shutdown calls it.

Spans follow OTel's database conventions in both spellings (``db.system``/``db.system.name``,
``db.operation``/``db.operation.name``, ``db.statement``/``db.query.text``, server address and
port) and never carry a value: SQL keeps its bound-parameter placeholders, Redis commands read
``EVALSHA ? ? ?``, and a failed statement records the error's type, never its message (drivers
quote the offending values there). A call made outside a request span (sweeper, audit flush,
probes) starts no span.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

INSTRUMENTATION = "walletgate.db"
MAX_STATEMENT = 2048  # characters of SQL kept on a span
_DEFAULT_PORTS = {"postgresql": 5432}
_SPAN = "_walletgate_span"  # where a statement's span waits on SQLAlchemy's execution context


def trace_clients(
    provider: trace.TracerProvider, engine: Engine, redis_clients: Iterable[Redis | None]
) -> Callable[[], None]:
    """Spans for ``engine`` (a sync engine: pass ``AsyncEngine.sync_engine``) and each Redis client; returns undo."""
    undo = [_trace_engine(provider.get_tracer(INSTRUMENTATION), engine)]
    undo += [_trace_redis(client, provider) for client in redis_clients if client is not None]

    def untrace() -> None:
        for step in undo:
            step()

    return untrace


def limiter_redis(limiter: object) -> Redis | None:
    """The limiter's own Redis client (``FailoverLimiter.shared.client``), when it has one."""
    client = getattr(getattr(limiter, "shared", limiter), "client", None)
    return client if isinstance(client, Redis) else None


class _EngineSpans:
    def __init__(self, tracer: Tracer, engine: Engine) -> None:
        self._tracer = tracer
        self._system = engine.dialect.name  # "postgresql", "sqlite": OTel's db.system values
        url = engine.url
        attributes: dict[str, str | int] = {"db.system": self._system, "db.system.name": self._system}
        if url.database:
            attributes |= {"db.name": url.database, "db.namespace": url.database}
        if url.host:
            port = url.port or _DEFAULT_PORTS.get(self._system)
            attributes |= {"server.address": url.host, "net.peer.name": url.host}
            if port:
                attributes |= {"server.port": int(port), "net.peer.port": int(port)}
        self._attributes = attributes

    def before(self, _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if context is None or not trace.get_current_span().is_recording():
            return
        operation = _operation(statement)
        text = statement if len(statement) <= MAX_STATEMENT else statement[: MAX_STATEMENT - 3] + "..."
        attributes = {**self._attributes, "db.statement": text, "db.query.text": text}
        if operation:
            attributes |= {"db.operation": operation, "db.operation.name": operation}
        span = self._tracer.start_span(operation or self._system, kind=SpanKind.CLIENT, attributes=attributes)
        setattr(context, _SPAN, span)

    def after(self, _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
        span = _take_span(context)
        if span is not None:
            span.end()

    def error(self, failure: ExceptionContext) -> None:
        span = _take_span(failure.execution_context)
        if span is not None:
            span.set_attribute("error.type", type(failure.original_exception).__name__)
            span.set_status(StatusCode.ERROR)
            span.end()


def _trace_engine(tracer: Tracer, engine: Engine) -> Callable[[], None]:
    spans = _EngineSpans(tracer, engine)
    hooks: list[tuple[str, Callable[..., Any]]] = [
        ("before_cursor_execute", spans.before),
        ("after_cursor_execute", spans.after),
        ("handle_error", spans.error),
    ]
    for name, hook in hooks:
        event.listen(engine, name, hook)

    def untrace() -> None:
        for name, hook in hooks:
            event.remove(engine, name, hook)

    return untrace


def _take_span(context: Any) -> trace.Span | None:
    span: trace.Span | None = getattr(context, _SPAN, None)
    if span is not None:
        setattr(context, _SPAN, None)
    return span


def _operation(statement: str) -> str:
    """The statement's first keyword (``SELECT``, ``INSERT``...), the one part of SQL OTel asks for."""
    words = statement.lstrip("( \t\r\n").split(None, 1)
    return words[0].upper() if words and words[0].isalpha() else ""


def _trace_redis(client: Redis, provider: trace.TracerProvider) -> Callable[[], None]:
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    RedisInstrumentor.instrument_client(
        client, tracer_provider=provider, request_hook=_redis_request, response_hook=_redis_response
    )
    return lambda: RedisInstrumentor.uninstrument_client(client)


def _redis_request(span: trace.Span, instance: Any, args: Sequence[Any], _kwargs: Any) -> None:
    """The stable attribute names beside the library's older ones (it writes ``db.system``, ``net.peer.*``)."""
    if span.is_recording() and args:
        span.set_attributes(_redis_server(instance) | {"db.operation.name": str(args[0]).upper()})


def _redis_response(span: trace.Span, instance: Any, _response: Any) -> None:
    if span.is_recording() and hasattr(instance, "command_stack"):  # a pipeline: its commands had no request hook
        span.set_attributes(_redis_server(instance))


def _redis_server(instance: Any) -> dict[str, str | int]:
    options = instance.connection_pool.connection_kwargs
    attributes: dict[str, str | int] = {"db.system.name": "redis", "db.namespace": str(options.get("db") or 0)}
    if "path" not in options:
        attributes |= {"server.address": options.get("host", "localhost"), "server.port": options.get("port", 6379)}
    return attributes
