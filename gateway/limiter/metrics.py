"""Counters the limiter reports through OpenTelemetry (no-ops until a meter provider is set)."""

from __future__ import annotations

from opentelemetry import metrics

_meter = metrics.get_meter("walletgate.limiter")

FAILOVERS = _meter.create_counter(
    "walletgate.limiter.failovers", description="switches between Redis and local limiting, by direction ('to')"
)
REFUSED = _meter.create_counter("walletgate.limiter.refused", description="requests refused, by rule")
WOULD_REFUSE = _meter.create_counter(
    "walletgate.limiter.report_refusals", description="requests a report-mode rule would have refused, by rule"
)
