"""Limits on the OAuth endpoints (token, PAR, registration): per client and per source address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.errors import ServiceUnavailableError
from gateway.limiter.response import rate_limit_headers, refusal
from gateway.limiter.rules import rule_book

if TYPE_CHECKING:
    from gateway.services import Services


async def limit_endpoint(
    services: Services, endpoint: str, client_id: str | None, source_ip: str | None
) -> dict[str, str]:
    """Count a call to ``endpoint`` ("token", "par" or "register"); the ``RateLimit-*`` headers to send.

    ``source_ip`` is the caller's address as ``gateway.client_address`` tells it: the wallet's,
    not the reverse proxy's, so wallets behind one proxy do not share one per-address bucket.

    Raises ``TooManyRequestsError`` (429, with the headers and ``Retry-After``) when a limit
    refuses, and ``ServiceUnavailableError`` (503) when Redis is lost and the endpoints fail closed.
    """
    hits = rule_book(services.policies.limits).endpoint_hits(endpoint, client_id, source_ip)
    if not hits:
        return {}
    try:
        decision = await services.limiter.acquire(hits)
    except ServiceUnavailableError:
        services.metrics.record_limit("failed_closed")
        raise
    services.metrics.record_limit_decision(decision)
    headers = rate_limit_headers(decision)
    if not decision.allowed:
        raise refusal(decision, headers)
    return headers
