"""What a wallet is told about its limits: ``RateLimit-*`` headers, and the 429 that names the limit.

Headers follow draft-ietf-httpapi-ratelimit-headers: ``RateLimit-Limit`` (calls admitted at
once by the binding rule), ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds until the
rule is back to full) and ``RateLimit-Policy`` (``<limit>;w=<whole seconds>``); a refusal adds
``Retry-After`` in whole seconds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from gateway.errors import TooManyRequestsError
from gateway.limiter import Decision
from gateway.limiter.gcra import next_midnight


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """The headers of the binding rule; empty when no rule applied."""
    binding = decision.binding
    if binding is None:
        return {}
    rule = binding.hit.rule
    headers = {
        "RateLimit-Limit": str(rule.burst),
        "RateLimit-Remaining": str(binding.remaining),
        "RateLimit-Reset": str(math.ceil(binding.reset)),
        "RateLimit-Policy": f"{rule.limit};w={math.ceil(rule.period)}",  # w: an integer, never 1e+06
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
    return headers


def refusal(decision: Decision, headers: dict[str, str] | None = None) -> TooManyRequestsError:
    """The 429 for a refused decision, naming the limit (and, for the daily quota, when it resets)."""
    binding = decision.binding
    if binding is None:  # a refusal always has a binding rule; keep a clear message regardless
        return TooManyRequestsError(headers=headers)
    rule = binding.hit.rule
    wait = max(1, math.ceil(decision.retry_after))
    if rule.kind == "daily":
        resets = datetime.fromtimestamp(next_midnight(decision.now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        message = (
            f"Daily access frequency reached: {rule.text} are used up ({binding.hit.key}); "
            f"the count resets at midnight UTC ({resets}), in {wait} s."
        )
    else:
        message = f"Rate limit exceeded: {rule.text or rule.name} ({binding.hit.key}); retry after {wait} s."
    return TooManyRequestsError(message, headers=headers if headers is not None else rate_limit_headers(decision))
