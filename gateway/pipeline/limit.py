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

A call that got none of the bank's data because the bank failed (a 502, or a 503 from the bank's
circuit breaker) gives its daily count back (``give_back_daily``, policy switch
``frequency_per_day.refund_bank_failures``): the wallet retrying through a bank outage keeps the
day's unattended refreshes. Rates are not given back: the calls did reach the gateway.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import replace

from gateway.errors import GatewayError, InvalidDPoPProofError, ServiceUnavailableError, UpstreamError
from gateway.limiter import Decision, Hit
from gateway.limiter.response import rate_limit_headers, refusal
from gateway.limiter.rules import CallFacts, rule_book
from gateway.pipeline.call import Call

log = logging.getLogger("walletgate.limiter")
DAY = 86_400  # seconds: daily counts reset at midnight UTC


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
    return _apply(call, call.services.limiter.begin(hits, once=once), hits)


async def _apply(call: Call, pending: Awaitable[Decision], hits: Sequence[Hit]) -> None:
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
    if not call.attended and call.services.policies.limits.frequency.refund_bank_failures:  # only unattended count
        call.daily_counted = tuple(hit for hit in hits if hit.rule.kind == "daily")
        call.counted_on_day = int(decision.now // DAY)


async def give_back_daily(call: Call) -> None:
    """Give back the daily count of a call the bank failed (see the module); best effort."""
    counted, call.daily_counted = call.daily_counted, ()
    if not counted or not isinstance(call.error, UpstreamError | ServiceUnavailableError):
        return
    if int(call.services.clock() // DAY) != call.counted_on_day:
        return  # counted yesterday: giving it back now would lower today's count
    try:
        decision = await call.services.limiter.acquire([replace(hit, cost=-hit.cost) for hit in counted])
    except Exception as exc:  # the count stays spent: the policy's stricter reading, not an error for the wallet
        log.warning("could not give back the daily count of interaction %s: %s", call.interaction_id, exc)
        return
    if not decision.allowed:  # today's count is above a limit lowered since: nothing was written
        return
    for hit in counted:
        call.services.metrics.record_limit("given_back", hit.rule.name)


async def spend_proof(call: Call) -> None:
    """Spend the DPoP proof's jti of a call refused before the limit step, so the proof cannot be sent again."""
    once, call.proof_jti = call.proof_jti, None
    if once is not None:
        with contextlib.suppress(GatewayError):
            await call.services.limiter.acquire((), once=once)
