"""The recording API and the Prometheus text it produces."""

from __future__ import annotations

import re

import pytest

from gateway.limiter import Decision, Hit, HitResult, Rule
from gateway.metrics import Metrics


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample whose labels include ``labels``."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels} in:\n{text}")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


def test_requests_are_counted_and_timed_by_api_operation_wallet_status(metrics: Metrics) -> None:
    metrics.record_request("uk-ob-accounts-v4", "GetAccounts", "wallet-1", 200, 0.004)
    metrics.record_request("uk-ob-accounts-v4", "GetAccounts", "wallet-1", 200, 1.2)
    metrics.record_request("uk-ob-accounts-v4", "GetBalances", "wallet-2", 403, 0.02)
    text = metrics.prometheus_text().decode()
    labels = {"api": "uk-ob-accounts-v4", "operation": "GetAccounts", "wallet": "wallet-1", "status": "200"}
    assert sample(text, "walletgate_requests_total", **labels) == 2
    assert sample(text, "walletgate_requests_total", operation="GetBalances", status="403") == 1
    assert sample(text, "walletgate_request_duration_seconds_count", **labels) == 2
    assert sample(text, "walletgate_request_duration_seconds_bucket", le="0.005", **labels) == 1
    assert sample(text, "walletgate_request_duration_seconds_bucket", le="1.5", **labels) == 2
    assert sample(text, "walletgate_request_duration_seconds_sum", **labels) == pytest.approx(1.204)


def test_decisions_tokens_and_upstream_errors_are_counted(metrics: Metrics) -> None:
    metrics.record_limit("allowed", "per-wallet")
    metrics.record_limit("limited", "per-wallet")
    metrics.record_limit("limited", "per-wallet")
    metrics.record_consent_decision(True)
    metrics.record_consent_decision(False, "account")
    metrics.record_token_issued("authorization_code")
    metrics.record_upstream_error("http://bank", "timeout")
    metrics.record_circuit_state("http://bank", "open")
    text = metrics.prometheus_text().decode()
    assert sample(text, "walletgate_limiter_decisions_total", decision="limited", rule="per-wallet") == 2
    assert sample(text, "walletgate_consent_decisions_total", outcome="refused", reason="account") == 1
    assert sample(text, "walletgate_consent_decisions_total", outcome="allowed") == 1
    assert sample(text, "walletgate_tokens_issued_total", grant_type="authorization_code") == 1
    assert sample(text, "walletgate_upstream_errors_total", upstream="http://bank", kind="timeout") == 1
    assert sample(text, "walletgate_upstream_circuit_state", upstream="http://bank") == 2


def test_consent_cache_hit_ratio_follows_lookups(metrics: Metrics) -> None:
    assert "walletgate_consent_cache_hit_ratio " not in metrics.prometheus_text().decode()
    for hit in (True, True, True, False):
        metrics.record_cache(hit)
    text = metrics.prometheus_text().decode()
    assert sample(text, "walletgate_consent_cache_hit_ratio") == 0.75
    assert sample(text, "walletgate_consent_cache_lookups_total", result="hit") == 3
    assert sample(text, "walletgate_consent_cache_lookups_total", result="miss") == 1


def test_label_values_are_escaped_in_the_text_format(metrics: Metrics) -> None:
    metrics.record_consent_decision(False, 'odd "reason"\nline')
    text = metrics.prometheus_text().decode()
    assert 'reason="odd \\"reason\\"\\nline"' in text


def test_a_report_mode_limit_that_would_refuse_is_counted_by_rule(metrics: Metrics) -> None:
    enforced = HitResult(Hit(Rule("wallet.attended", 10, 1.0, 10), "wallet:w1"), True, 9, 0.1, 0.0)
    report = HitResult(Hit(Rule("api.bank", 1, 1.0, 1, mode="report"), "api:bank"), False, 0, 1.0, 1.0)
    metrics.record_limit_decision(Decision(True, enforced, (enforced, report), 0.0))
    metrics.record_limit_decision(Decision(True, enforced, (enforced,), 0.0))
    text = metrics.prometheus_text().decode()
    assert sample(text, "walletgate_limiter_report_refusals_total", rule="api.bank") == 1
    assert sample(text, "walletgate_limiter_decisions_total", decision="allowed", rule="wallet.attended") == 2
    assert sum(line.startswith("walletgate_limiter_report_refusals_total{") for line in text.splitlines()) == 1
