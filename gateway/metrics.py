"""Metrics: one OpenTelemetry ``MeterProvider`` per app, a typed recording API, two ways out.

Other parts of the gateway record through ``services.metrics`` (a ``Metrics``):

- ``record_request(api, operation, wallet, status, seconds)`` (``gateway.observation`` calls
  it for every request, reading ``request.state``; the pipeline only sets those fields),
- ``record_limit(decision, rule)``, ``record_limit_decision(decision)``, ``record_limiter_failover(to)``,
  ``record_consent_decision(allowed, reason)``,
- ``record_token_issued(grant_type)``, ``record_upstream_error(upstream, kind)``,
  ``record_circuit_state(upstream, state)``, ``record_cache(hit)``.

Out: OTLP/HTTP every ``EXPORT_INTERVAL_MS`` when ``settings.otlp_endpoint`` (or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``) is set, and the
Prometheus text format on ``GET /metrics``, which answers only to ``Authorization: Bearer
<settings.metrics_token>`` (compared in constant time) and is switched off while that setting
is empty.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    InMemoryMetricReader,
    MetricReader,
    PeriodicExportingMetricReader,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.errors import InvalidTokenError, ResourceNotFoundError
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.limiter import Decision

EXPORT_INTERVAL_MS = 15_000
# Seconds; the 1 s / 1.5 s / 2 s / 4 s marks are the CDR response-time tiers.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 10.0)
CircuitState = Literal["closed", "half_open", "open"]
_CIRCUIT_VALUES: dict[str, int] = {"closed": 0, "half_open": 1, "open": 2}
_REQUEST_LABELS = ("api", "operation", "wallet", "status")


class Metrics:
    """The gateway's instruments. Every ``record_*`` call is cheap and never raises for a label."""

    def __init__(self, *, otlp_endpoint: str | None = None, service_name: str = "walletgate") -> None:
        self._pull = InMemoryMetricReader()
        readers: list[MetricReader] = [self._pull]
        self.exporting = otlp_endpoint is not None  # OTLP export on (besides the /metrics pull)
        if otlp_endpoint is not None:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            exporter = OTLPMetricExporter(endpoint=otlp_endpoint or None)  # None: the OTEL_* variables decide
            readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=EXPORT_INTERVAL_MS))
        self.provider = MeterProvider(
            metric_readers=readers,
            resource=Resource.create({"service.name": service_name}),
            shutdown_on_exit=self.exporting,  # flush at exit only when something is exported
        )
        meter = self.provider.get_meter("walletgate")
        self._requests = _Tally(meter, "walletgate.requests", "{request}", "Requests answered", _REQUEST_LABELS)
        self._latency = meter.create_histogram(
            "walletgate.request.duration",
            "s",
            "Time from request arrival to the end of the response",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self._limits = _Tally(
            meter, "walletgate.limiter.decisions", "{decision}", "Rate-limit decisions", ("decision", "rule")
        )
        self._report_refusals = _Tally(
            meter,
            "walletgate.limiter.report_refusals",
            "{request}",
            "Requests a report-mode limit would have refused, by rule",
            ("rule",),
        )
        self._failovers = _Tally(
            meter,
            "walletgate.limiter.failovers",
            "{switch}",
            "Switches between Redis and local limiting, by direction (to)",
            ("to",),
        )
        self._consents = _Tally(
            meter,
            "walletgate.consent.decisions",
            "{decision}",
            "Consent checks: allowed, or refused and why",
            ("outcome", "reason"),
        )
        self._tokens = _Tally(meter, "walletgate.tokens.issued", "{token}", "Access tokens issued", ("grant_type",))
        self._upstream_errors = _Tally(
            meter, "walletgate.upstream.errors", "{error}", "Failed calls to a bank upstream", ("upstream", "kind")
        )
        self._circuit = meter.create_gauge(
            "walletgate.upstream.circuit_state", "1", "Circuit breaker state: 0 closed, 1 half open, 2 open"
        )
        self._cache = _Tally(
            meter, "walletgate.consent_cache.lookups", "{lookup}", "Consent-cache lookups", ("result",)
        )
        self._hits = 0
        self._lookups = 0
        meter.create_observable_gauge(
            "walletgate.consent_cache.hit_ratio", [self._observe_hit_ratio], "1", "Consent-cache hits / lookups"
        )

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> Metrics:
        """OTLP export when the setting or a standard ``OTEL_EXPORTER_OTLP_*`` endpoint variable is set."""
        environ = os.environ if environ is None else environ
        if settings.otlp_endpoint:
            return cls(otlp_endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/metrics")
        if environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            return cls(otlp_endpoint="")
        return cls()

    def record_request(self, api: str, operation: str, wallet: str, status: int, seconds: float) -> None:
        self._requests.add((api, operation, wallet, str(status)))
        self._latency.record(seconds, {"api": api, "operation": operation, "wallet": wallet, "status": str(status)})

    def record_limit(self, decision: str, rule: str = "") -> None:
        """``decision``: allowed, limited, replayed, failed_closed, or given_back (a daily count a call the
        bank failed gave back); ``rule``: the limit's name. Failing open shows in ``limiter.failovers``."""
        self._limits.add((decision, rule))

    def record_limit_decision(self, decision: Decision) -> None:
        """One limiter verdict: allowed or limited (by the binding rule), or a replayed DPoP proof;
        and each report-mode limit that would have refused it."""
        if not decision.first_use:
            self.record_limit("replayed")
            return
        rule = decision.binding.hit.rule.name if decision.binding is not None else ""
        self.record_limit("allowed" if decision.allowed else "limited", rule)
        for result in decision.results:
            if not result.allowed and result.hit.rule.mode == "report":
                self._report_refusals.add((result.hit.rule.name,))

    def record_limiter_failover(self, to: Literal["local", "redis"]) -> None:
        """The limiter switched: ``local`` when Redis was lost, ``redis`` when it came back."""
        self._failovers.add((to,))

    def record_consent_decision(self, allowed: bool, reason: str = "") -> None:
        """``reason``: why a call was refused (e.g. permission, account, window, status, purpose)."""
        self._consents.add(("allowed" if allowed else "refused", reason))

    def record_token_issued(self, grant_type: str) -> None:
        self._tokens.add((grant_type,))

    def record_upstream_error(self, upstream: str, kind: str) -> None:
        """``kind``: e.g. timeout, connect, status_5xx, circuit_open, too_large, compressed, invalid_response."""
        self._upstream_errors.add((upstream, kind))

    def record_circuit_state(self, upstream: str, state: CircuitState) -> None:
        self._circuit.set(_CIRCUIT_VALUES[state], {"upstream": upstream})

    def record_cache(self, hit: bool) -> None:
        self._lookups += 1
        self._hits += hit
        self._cache.add(("hit" if hit else "miss",))

    def _observe_hit_ratio(self, options: CallbackOptions) -> Iterator[Observation]:
        if self._lookups:
            yield Observation(self._hits / self._lookups)

    def prometheus_text(self) -> bytes:
        """Everything recorded so far in the Prometheus text exposition format (cumulative)."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(self._pull))
        return generate_latest(registry)

    def shutdown(self) -> None:
        """Flush the OTLP exporter (if any) and stop its thread."""
        self.provider.shutdown()


class _Tally:
    """A monotonic counter kept as plain per-label-set totals, reported through an observable counter.

    ``Counter.add`` in the OpenTelemetry SDK hashes the attributes and takes locks on every call
    (~4-8 µs; a proxied call made five of them). Here a call adds one to a dict entry keyed by the
    label values; the SDK reads the totals only when a reader collects (the ``/metrics`` scrape or
    the OTLP export), which it does from its own thread: ``list(dict.items())`` holds the GIL.
    """

    __slots__ = ("_names", "_totals")

    def __init__(self, meter: Meter, name: str, unit: str, description: str, labels: tuple[str, ...]) -> None:
        self._names = labels
        self._totals: dict[tuple[str, ...], int] = {}
        meter.create_observable_counter(name, [self._observe], unit, description)

    def add(self, values: tuple[str, ...]) -> None:
        totals = self._totals
        totals[values] = totals.get(values, 0) + 1

    def _observe(self, options: CallbackOptions) -> Iterator[Observation]:
        for values, total in list(self._totals.items()):
            yield Observation(total, dict(zip(self._names, values, strict=True)))


class _Snapshot(Collector):
    """Turn one OpenTelemetry collection into Prometheus metric families."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self.reader = reader

    def collect(self) -> Iterator[Metric]:
        data = self.reader.get_metrics_data()
        if data is None:
            return
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    family = _family(
                        _prometheus_name(metric.name, metric.unit or ""), metric.description or "", metric.data
                    )
                    if family is not None:
                        yield family


def _prometheus_name(name: str, unit: str) -> str:
    base = name.replace(".", "_")
    return base + "_seconds" if unit == "s" and not base.endswith("_seconds") else base


def _labels(points: Sequence[Any]) -> list[str]:
    return sorted({str(k) for point in points for k in (point.attributes or {})})


def _values(point: Any, names: list[str]) -> list[str]:
    attributes = point.attributes or {}
    return [str(attributes.get(name, "")) for name in names]


def _family(name: str, description: str, data: Any) -> Metric | None:
    points = list(data.data_points)
    names = _labels(points)
    family: CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily
    if isinstance(data, Sum) and data.is_monotonic:
        family = CounterMetricFamily(name, description, labels=names)
        for point in points:
            family.add_metric(_values(point, names), point.value)
    elif isinstance(data, Sum | Gauge):
        family = GaugeMetricFamily(name, description, labels=names)
        for point in points:
            family.add_metric(_values(point, names), point.value)
    elif isinstance(data, Histogram):
        family = HistogramMetricFamily(name, description, labels=names)
        for point in points:
            cumulative, buckets = 0, []
            for bound, count in zip(point.explicit_bounds, point.bucket_counts, strict=False):
                cumulative += count
                buckets.append((_bound(bound), cumulative))
            buckets.append(("+Inf", point.count))
            family.add_metric(_values(point, names), buckets, point.sum)
    else:
        return None
    return family


def _bound(value: float) -> str:
    return repr(float(value))


class MetricsTokenError(InvalidTokenError):
    """RFC 6750 §3.1: ``/metrics`` needs the scrape token as a Bearer token."""

    message = "The metrics endpoint needs Authorization: Bearer with the metrics token."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message, path="Authorization", headers={"WWW-Authenticate": 'Bearer realm="walletgate-metrics"'}
        )


async def metrics_endpoint(request: Request) -> Response:
    services = request.app.state.services
    expected = services.settings.metrics_token
    if not expected:
        raise ResourceNotFoundError("The metrics endpoint is off; set WALLETGATE_METRICS_TOKEN to turn it on.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise MetricsTokenError()
    if not hmac.compare_digest(given.strip().encode(), str(expected).encode()):
        raise MetricsTokenError("The metrics token is wrong.")
    return Response(
        services.metrics.prometheus_text(),
        headers={"Cache-Control": "no-store"},
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )


def metrics_routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics_endpoint, methods=["GET"])]
