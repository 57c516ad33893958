"""The pipeline's limit step and the OAuth endpoint helper: which limits a call counts against, and the 429."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from starlette.datastructures import Headers, QueryParams

from gateway.clock import FrozenClock
from gateway.errors import (
    InvalidDPoPProofError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UpstreamError,
    render_ob_error,
)
from gateway.limiter import OneTimeKey
from gateway.limiter.endpoints import limit_endpoint
from gateway.limiter.memory import MemoryLimiter
from gateway.metrics import Metrics
from gateway.pipeline.call import AccessToken, Call
from gateway.pipeline.limit import give_back_daily, limit
from policies.limits import load_limits

POLICY = """
wallet:
  attended: {rate: 50, per: 1s}
  unattended: {rate: 25, per: 1s}
user:
  attended: {rate: 3, per: 1s}
frequency_per_day: {default: 4, cap: 6}
rules:
  heavy: {rate: 2, per: 1m}
apis:
  bank:
    ceiling: {rate: 100, per: 1s}
    operations:
      GetStatements: {rate: 1, per: 1s, mode: report}
      GetParty: {rate: 1, per: 1s}
endpoints:
  token:
    per_client: {rate: 2, per: 1s}
    per_address: {rate: 3, per: 1s}
"""
MIDNIGHT = 1_790_035_200.0  # 2026-09-22T00:00:00Z


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MIDNIGHT - 3600)  # 23:00 UTC


@pytest.fixture
def services(tmp_path: Path, clock: FrozenClock) -> Any:
    (tmp_path / "limits.yaml").write_text(POLICY, encoding="utf-8")
    policies = SimpleNamespace(limits=load_limits(tmp_path / "limits.yaml"))
    return SimpleNamespace(policies=policies, limiter=MemoryLimiter(clock), metrics=Metrics(), clock=clock)


def _call(
    services: Any,
    *,
    attended: bool = False,
    operation: str = "GetAccounts",
    rules: tuple[str, ...] = (),
    consent_id: str = "c1",
    frequency: int | None = None,
    user: str = "alice",
) -> Call:
    headers = {"x-fapi-customer-ip-address": "203.0.113.9"} if attended else {}
    call = Call(
        services=services,
        runtime=None,  # type: ignore[arg-type]
        method="GET",
        path="/open-banking/v4.0/aisp/accounts",
        url="http://127.0.0.1:8000/open-banking/v4.0/aisp/accounts",
        headers=Headers(headers),
        query=QueryParams(""),
        body=b"",
        client_ip="127.0.0.1",
        interaction_id="i-1",
        started=0.0,
    )
    call.attended = attended  # authorize sets it from x-fapi-customer-ip-address
    call.api = SimpleNamespace(name="bank")  # type: ignore[assignment]
    call.operation = SimpleNamespace(operation_id=operation, limits=rules)  # type: ignore[assignment]
    call.token = AccessToken("j", "wallet-1", user, frozenset({"accounts"}), 0.0, consent_id=consent_id)
    call.consent = SimpleNamespace(consent_id=consent_id, user_id=user, frequency_per_day=frequency)  # type: ignore[assignment]
    return call


async def _refusal(call: Call) -> TooManyRequestsError:
    with pytest.raises(TooManyRequestsError) as refused:
        await limit(call)
    return refused.value


def _decisions(services: Any, decision: str) -> float:
    text = services.metrics.prometheus_text().decode()
    pattern = rf'walletgate_limiter_decisions_total{{[^}}]*decision="{decision}"[^}}]*}} (\S+)'
    return sum(float(value) for value in re.findall(pattern, text))


async def test_every_decision_is_counted_in_the_metrics(services: Any) -> None:
    for _ in range(3):
        await limit(_call(services, attended=True))
    await _refusal(_call(services, attended=True))
    assert _decisions(services, "allowed") == 3
    assert _decisions(services, "limited") == 1


async def test_a_replayed_proof_is_counted_as_replayed(services: Any) -> None:
    first, second = _call(services, attended=True), _call(services, attended=True)
    first.proof_jti = second.proof_jti = OneTimeKey("dpop:k:j", 70)
    await limit(first)
    with pytest.raises(InvalidDPoPProofError):
        await limit(second)
    assert _decisions(services, "replayed") == 1


async def test_success_carries_rate_limit_headers(services: Any) -> None:
    call = _call(services, attended=True)
    await limit(call)
    assert call.attended
    assert call.rate_limit_headers == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "2",
        "RateLimit-Reset": "1",
        "RateLimit-Policy": "3;w=1",
    }


async def test_attended_calls_over_the_customer_limit_get_429_naming_it(services: Any) -> None:
    for _ in range(3):
        await limit(_call(services, attended=True))
    refused = await _refusal(_call(services, attended=True))
    assert refused.status == 429
    assert refused.message == (
        "Rate limit exceeded: the customer's limit of 3 calls per 1s (customer present) (user:alice); retry after 1 s."
    )
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Remaining"] == "0"


async def test_unattended_calls_over_the_daily_frequency_get_429_saying_when_it_resets(services: Any) -> None:
    for _ in range(4):
        await limit(_call(services))
    refused = await _refusal(_call(services))
    assert refused.message == (
        "Daily access frequency reached: the consent's 4 calls a day to this operation without the customer "
        "present (frequencyPerDay) are used up (consent:c1:GetAccounts); the count resets at midnight UTC "
        "(2026-09-22T00:00:00Z), in 3600 s."
    )
    assert refused.headers["Retry-After"] == "3600"
    body = orjson.loads(render_ob_error(refused, "i-1").body)
    assert body["Code"] == "429 TooManyRequests"
    assert body["Errors"][0]["ErrorCode"] == "U042"


async def test_daily_frequency_resets_at_midnight_utc(services: Any, clock: FrozenClock) -> None:
    for _ in range(4):
        await limit(_call(services))
    await _refusal(_call(services))
    clock.advance(3600)
    await limit(_call(services))


async def test_attended_calls_do_not_count_against_the_daily_frequency(services: Any, clock: FrozenClock) -> None:
    for _ in range(3):
        await limit(_call(services))
    for _ in range(3):
        await limit(_call(services, attended=True))
    clock.advance(1)
    await limit(_call(services))  # the 4th unattended call
    await _refusal(_call(services))


async def test_daily_frequency_is_per_operation(services: Any) -> None:
    for _ in range(4):
        await limit(_call(services))
    await limit(_call(services, operation="GetBalances"))  # another operation's count is untouched
    await _refusal(_call(services))  # while this one's is spent


async def test_consent_frequency_raises_the_default_up_to_the_cap(services: Any) -> None:
    for _ in range(6):
        await limit(_call(services, frequency=50))
    refused = await _refusal(_call(services, frequency=50))
    assert "the consent's 6 calls a day" in refused.message


async def test_consent_frequency_lowers_the_default(services: Any) -> None:
    await limit(_call(services, frequency=1))
    await _refusal(_call(services, frequency=1))


async def test_operation_limit_refuses_across_wallets_and_users(services: Any) -> None:
    await limit(_call(services, operation="GetParty", consent_id="c1", user="alice"))
    refused = await _refusal(_call(services, operation="GetParty", consent_id="c2", user="bob"))
    assert refused.message.startswith("Rate limit exceeded: GetParty's limit of 1 calls per 1s (op:bank:GetParty)")


async def test_named_rule_listed_by_the_operation_applies(services: Any) -> None:
    for consent in ("c1", "c2"):
        await limit(_call(services, operation="GetOffers", rules=("heavy",), consent_id=consent))
    refused = await _refusal(_call(services, operation="GetOffers", rules=("heavy",), consent_id="c3"))
    assert "GetOffers's 'heavy' limit of 2 calls per 1m" in refused.message
    assert refused.headers["Retry-After"] == "30"


async def test_report_mode_operation_limit_never_refuses(services: Any) -> None:
    for consent in ("c1", "c2", "c3"):
        await limit(_call(services, operation="GetStatements", consent_id=consent))


async def test_endpoint_limit_counts_per_client_and_per_address(services: Any) -> None:
    headers = await limit_endpoint(services, "token", "wallet-1", "198.51.100.1")
    assert headers["RateLimit-Remaining"] == "1"
    await limit_endpoint(services, "token", "wallet-1", "198.51.100.2")
    with pytest.raises(TooManyRequestsError) as refused:
        await limit_endpoint(services, "token", "wallet-1", "198.51.100.3")
    assert refused.value.message == (
        "Rate limit exceeded: 2 /token calls per 1s per client (client:wallet-1); retry after 1 s."
    )
    assert refused.value.headers["Retry-After"] == "1"


async def test_endpoint_limit_per_address_applies_without_a_client_id(services: Any) -> None:
    for _ in range(3):
        await limit_endpoint(services, "token", None, "198.51.100.1")
    with pytest.raises(TooManyRequestsError, match=r"3 /token calls per 1s per address \(address:198\.51\.100\.1\)"):
        await limit_endpoint(services, "token", None, "198.51.100.1")


async def test_endpoint_without_limits_returns_no_headers(services: Any) -> None:
    assert await limit_endpoint(services, "register", "wallet-1", "198.51.100.1") == {}


async def _failed_at_the_bank(services: Any, error: Exception, **changes: Any) -> None:
    """One call admitted by the limit step that then fails with ``error``, settled as the pipeline settles it."""
    call = _call(services, **changes)
    await limit(call)
    call.fail(error)
    await give_back_daily(call)


@pytest.mark.parametrize(
    "error",
    [
        UpstreamError("The bank did not answer; quote the Id."),
        ServiceUnavailableError("The bank is not answering; retry later.", headers={"Retry-After": "7"}),
    ],
)
async def test_an_unattended_call_the_bank_failed_gives_its_daily_count_back(services: Any, error: Exception) -> None:
    for _ in range(6):
        await _failed_at_the_bank(services, error)
    for _ in range(4):
        await limit(_call(services))  # the day's four are still there
    await _refusal(_call(services))
    assert _decisions(services, "given_back") == 6


async def test_a_call_counted_before_midnight_that_fails_after_it_gives_nothing_back_to_the_new_day(
    services: Any, clock: FrozenClock
) -> None:
    clock.advance(3599)  # 23:59:59
    call = _call(services)
    await limit(call)  # yesterday's count
    clock.advance(2)  # the bank fails at 00:00:01
    for _ in range(4):
        await limit(_call(services))  # today's four
    call.fail(UpstreamError("The bank did not answer; quote the Id."))
    await give_back_daily(call)
    await _refusal(_call(services))  # today's count was not lowered by yesterday's call
    assert _decisions(services, "given_back") == 0


async def test_a_give_back_the_limiter_refuses_is_not_counted_as_given_back(services: Any) -> None:
    first = _call(services, frequency=2)
    await limit(first)  # counted under a frequency of 2
    for _ in range(5):
        await limit(_call(services, frequency=6))  # the consent was amended to 6 since: 6 counted today
    first.fail(UpstreamError("The bank did not answer; quote the Id."))
    await give_back_daily(first)  # 6 - 1 is still over the 2 it was counted under: nothing is written
    assert _decisions(services, "given_back") == 0
    await _refusal(_call(services, frequency=6))


async def test_a_call_refused_for_the_wallets_own_fault_keeps_its_daily_count(services: Any) -> None:
    for _ in range(4):
        await _failed_at_the_bank(services, ResourceNotFoundError("No account acc-9."))
    await _refusal(_call(services))


async def test_the_daily_count_is_kept_when_the_policy_says_so(tmp_path: Path, services: Any) -> None:
    (tmp_path / "strict.yaml").write_text(
        POLICY.replace(
            "frequency_per_day: {default: 4, cap: 6}", "frequency_per_day: {default: 4, refund_bank_failures: false}"
        ),
        encoding="utf-8",
    )
    services.policies.limits = load_limits(tmp_path / "strict.yaml")
    for _ in range(4):
        await _failed_at_the_bank(services, UpstreamError("The bank did not answer; quote the Id."))
    await _refusal(_call(services))
