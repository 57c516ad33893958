"""The limit step's answer travels while the request is checked; its refusal still comes first."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from gateway.errors import GatewayError, HeaderInvalidError, InvalidDPoPProofError, TooManyRequestsError
from gateway.limiter import Decision, Hit, HitResult, OneTimeKey, decide, replayed
from gateway.pipeline import handle
from gateway.pipeline.call import Call
from gateway.services import Services
from tests.unit.pipeline.conftest import BASE, MemoryConsents, Wallet

PATH = BASE + "/accounts"


class ScriptedLimiter:
    """Answers every call with ``verdict(hits)`` and notes what the call had done when it was sent and awaited."""

    def __init__(self, verdict: Callable[[Sequence[Hit]], Decision]) -> None:
        self.verdict = verdict
        self.events: list[str] = []
        self.call: Call | None = None

    def begin(self, hits: Sequence[Hit], once: OneTimeKey | None = None) -> Awaitable[Decision]:
        self.events.append(f"sent, headers prepared: {self._prepared()}")
        return self._answer(hits)

    async def _answer(self, hits: Sequence[Hit]) -> Decision:
        self.events.append(f"awaited, headers prepared: {self._prepared()}")
        return self.verdict(hits)

    async def acquire(self, hits: Sequence[Hit], now: float | None = None, once: OneTimeKey | None = None) -> Decision:
        self.events.append(f"acquired {len(hits)} hits, one-time key: {once is not None}")
        return self.verdict(hits)

    def _prepared(self) -> bool:
        return self.call is not None and self.call.forward_headers is not None


def _admit(hits: Sequence[Hit]) -> Decision:
    return decide([HitResult(hit, True, 5, 1.0, 0.0) for hit in hits], time.time())


def _refuse(hits: Sequence[Hit]) -> Decision:
    return decide([HitResult(hit, False, 0, 1.0, 1.0) for hit in hits], time.time())


def _replayed(hits: Sequence[Hit]) -> Decision:
    return replayed(time.time())


@pytest.fixture
def scripted(services: Services, consents: MemoryConsents) -> Callable[[Callable[[Sequence[Hit]], Decision]], Any]:
    consents.add(consent_id="c-1")

    def install(verdict: Callable[[Sequence[Hit]], Decision]) -> ScriptedLimiter:
        limiter = ScriptedLimiter(verdict)
        services.limiter = limiter  # type: ignore[assignment]
        return limiter

    return install


def _malformed(make_call: Callable[..., Call], wallet: Wallet) -> Call:
    return make_call(path=PATH, headers=wallet.headers("GET", PATH, **{"x-fapi-customer-ip-address": "not-an-ip"}))


async def test_the_request_is_checked_and_the_bank_headers_signed_while_the_limiter_answers(
    make_call: Callable[..., Call], wallet: Wallet, scripted: Any
) -> None:
    limiter = scripted(_refuse)
    call = limiter.call = make_call(path=PATH, headers=wallet.headers("GET", PATH))
    with pytest.raises(TooManyRequestsError):
        await handle(call)
    assert limiter.events == ["sent, headers prepared: False", "awaited, headers prepared: True"]


async def test_a_malformed_call_within_its_limits_is_refused_with_400_and_counted(
    make_call: Callable[..., Call], wallet: Wallet, scripted: Any
) -> None:
    limiter = scripted(_admit)
    with pytest.raises(HeaderInvalidError) as refused:
        await handle(_malformed(make_call, wallet))
    assert refused.value.status == 400
    assert len(limiter.events) == 2  # sent and awaited: the call counts, as when the steps ran one by one


async def test_a_malformed_call_over_its_limit_is_refused_with_429(
    make_call: Callable[..., Call], wallet: Wallet, scripted: Any
) -> None:
    scripted(_refuse)
    with pytest.raises(TooManyRequestsError):
        await handle(_malformed(make_call, wallet))


async def test_a_malformed_call_with_a_replayed_proof_is_refused_as_a_replay(
    make_call: Callable[..., Call], wallet: Wallet, scripted: Any
) -> None:
    scripted(_replayed)
    with pytest.raises(InvalidDPoPProofError, match="already used"):
        await handle(_malformed(make_call, wallet))


async def test_a_call_refused_before_the_limit_step_only_spends_its_proof(
    make_call: Callable[..., Call], wallet: Wallet, scripted: Any
) -> None:
    limiter = scripted(_admit)
    with pytest.raises(GatewayError):
        await handle(make_call(path=PATH, headers=wallet.headers("GET", PATH, token=wallet.token(consent_id="c-x"))))
    assert limiter.events == ["acquired 0 hits, one-time key: True"]
