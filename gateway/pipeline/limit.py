"""Count the call against every limit that applies to it, all or nothing, and refuse with 429 when one is spent.

Attended calls (``call.attended``, set by ``authorize`` when ``x-fapi-customer-ip-address`` is
present) count against the attended wallet and customer limits; unattended calls against the
unattended wallet limit and the consent's daily frequency for the operation (reset at
midnight UTC). Every call counts against its
API's ceiling and its operation's limits. ``call.rate_limit_headers`` is set on success
and refusal alike.

The DPoP proof's ``jti`` (``call.proof_jti``, from ``authenticate``) is spent in the same limiter
call: one Redis round trip per request. A replayed proof is refused here with 401 and counts
against nothing; a call refused between the two steps spends it in ``spend_proof``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable

from gateway.errors import GatewayError, InvalidDPoPProofError, ServiceUnavailableError
from gateway.limiter import Decision
from gateway.limiter.response import rate_limit_headers, refusal
from gateway.limiter.rules import CallFacts, rule_book
from gateway.pipeline.call import Call


def facts(call: Call) -> CallFacts:
    """What the limits of ``call`` depend on."""
    token, consent, operation = call.token, call.consent, call.operation
    return CallFacts(
        api=call.api.name if call.api else None,
        operation=operation.operation_id if operation else None,
        operation_rules=operation.limits if operation else (),
        client_id=token.client_id if token else "",
        user_id=consent.user_id if consent else (token.subject if token and token.consent_id else None),
        consent_id=consent.consent_id if consent else (token.consent_id if token else None),
        consent_frequency=consent.frequency_per_day if consent else None,
        attended=call.attended,
    )


async def limit(call: Call) -> None:
    await begin_limit(call)


def begin_limit(call: Call) -> Awaitable[None]:
    """Send the call's limits (and its DPoP proof's jti) to the limiter now; the returned awaitable
    applies the decision. ``gateway.pipeline.handle`` checks the request while the answer travels."""
    hits = rule_book(call.services.policies.limits).call_hits(facts(call))
    once, call.proof_jti = call.proof_jti, None
    return _apply(call, call.services.limiter.begin(hits, once=once))


async def _apply(call: Call, pending: Awaitable[Decision]) -> None:
    try:
        decision = await pending
    except ServiceUnavailableError:
        call.services.metrics.record_limit("failed_closed")
        raise
    call.services.metrics.record_limit_decision(decision)
    if not decision.first_use:
        raise InvalidDPoPProofError("DPoP proof: its jti was already used with this key", path="header.DPoP")
    call.rate_limit_headers = rate_limit_headers(decision)
    if not decision.allowed:
        raise refusal(decision, call.rate_limit_headers)


async def spend_proof(call: Call) -> None:
    """Spend the DPoP proof's jti of a call refused before the limit step, so the proof cannot be sent again."""
    once, call.proof_jti = call.proof_jti, None
    if once is not None:
        with contextlib.suppress(GatewayError):
            await call.services.limiter.acquire((), once=once)
