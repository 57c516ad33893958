"""The RateLimit-* fields (draft-ietf-httpapi-ratelimit-headers-06) and Retry-After (RFC 9110 §10.2.3)."""

from __future__ import annotations

from gateway.limiter import Decision, Hit, HitResult, Rule
from gateway.limiter.response import rate_limit_headers

T0 = 1_790_000_000.0


def _headers(rule: Rule, *, allowed: bool = True, reset: float = 1.0, retry_after: float = 0.0) -> dict[str, str]:
    result = HitResult(Hit(rule, "wallet:w1"), allowed, 0 if not allowed else 3, reset, retry_after)
    return rate_limit_headers(Decision(allowed, result, (result,), T0))


def test_the_policy_window_is_whole_seconds_however_long() -> None:
    """The w parameter is a Structured Field Integer: 12 days is 1036800, not 1.0368e+06."""
    headers = _headers(Rule("register", 10, 12 * 86400.0, 10))
    assert headers["RateLimit-Policy"] == "10;w=1036800"
