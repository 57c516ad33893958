"""Which limits a request is counted against, under which keys, and what each does when Redis is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.limiter import Rule
from gateway.limiter.rules import CallFacts, RuleBook
from policies.limits import load_limits

POLICY = """
wallet:
  attended: {rate: 50, per: 1s}
  unattended: {rate: 25, per: 1s}
user:
  attended: {rate: 10, per: 1s}
frequency_per_day: {default: 4, cap: 8}
rules:
  heavy: {rate: 2, per: 1m}
apis:
  bank:
    on_redis_failure: closed
    ceiling: {rate: 300, per: 1s}
    operations:
      GetTransactions: {rate: 30, per: 1s}
  quiet:
    on_redis_failure: closed
endpoints:
  on_redis_failure: open
  par:
    per_client: {rate: 5, per: 1s}
"""


@pytest.fixture
def book(tmp_path: Path) -> RuleBook:
    (tmp_path / "limits.yaml").write_text(POLICY, encoding="utf-8")
    return RuleBook(load_limits(tmp_path / "limits.yaml"))


def _facts(**changes: object) -> CallFacts:
    values: dict[str, object] = {
        "api": "bank",
        "operation": "GetTransactions",
        "operation_rules": ("heavy",),
        "client_id": "w1",
        "user_id": "alice",
        "consent_id": "c1",
        "consent_frequency": None,
        "attended": False,
    }
    values.update(changes)
    return CallFacts(**values)  # type: ignore[arg-type]


def _named(book: RuleBook, facts: CallFacts) -> list[tuple[str, str]]:
    return [(hit.rule.name, hit.key) for hit in book.call_hits(facts)]


def test_unattended_call_counts_against_wallet_daily_frequency_api_and_operation(book: RuleBook) -> None:
    assert _named(book, _facts()) == [
        ("wallet.unattended", "wallet:w1"),
        ("consent.daily", "consent:c1:GetTransactions"),
        ("api.bank", "api:bank"),
        ("op.bank.GetTransactions", "op:bank:GetTransactions"),
        ("rule.heavy", "op:bank:GetTransactions"),
    ]


def test_attended_call_counts_against_wallet_and_customer_but_not_the_daily_frequency(book: RuleBook) -> None:
    assert _named(book, _facts(attended=True)) == [
        ("wallet.attended", "wallet:w1"),
        ("user.attended", "user:alice"),
        ("api.bank", "api:bank"),
        ("op.bank.GetTransactions", "op:bank:GetTransactions"),
        ("rule.heavy", "op:bank:GetTransactions"),
    ]


def test_every_hit_of_an_api_call_carries_the_apis_choice_on_redis_failure(book: RuleBook) -> None:
    for attended in (True, False):
        assert {hit.rule.on_redis_failure for hit in book.call_hits(_facts(attended=attended))} == {"closed"}
    quiet = book.call_hits(_facts(api="quiet", operation_rules=()))
    assert [hit.rule.name for hit in quiet] == ["wallet.unattended", "consent.daily"]
    assert {hit.rule.on_redis_failure for hit in quiet} == {"closed"}


def test_an_api_without_a_choice_leaves_it_to_the_gateway_setting(book: RuleBook) -> None:
    hits = book.call_hits(_facts(api="other", operation_rules=()))
    assert {hit.rule.on_redis_failure for hit in hits} == {None}


def test_endpoint_hits_count_per_client_and_carry_the_endpoints_choice(book: RuleBook) -> None:
    hits = book.endpoint_hits("par", "w1", "192.0.2.1")
    assert [(h.rule.name, h.key, h.rule.on_redis_failure) for h in hits] == [
        ("endpoint.par.client", "client:w1", "open")
    ]
    assert book.endpoint_hits("token", "w1", "192.0.2.1") == []


def test_daily_rule_follows_the_consents_frequency_within_the_cap(book: RuleBook) -> None:
    assert book.daily_rule(None).limit == 4
    assert book.daily_rule(2).limit == 2
    assert book.daily_rule(20).limit == 8
    assert book.daily_rule(20).kind == "daily"


def test_a_local_share_divides_rate_and_burst_by_the_instances() -> None:
    rule = Rule("wallet.attended", 50, 1.0, 50)
    share = rule.share(3)
    assert share.interval == pytest.approx(0.06)
    assert share.burst == 16
    daily = Rule("consent.daily", 4, 86400.0, 4, kind="daily").share(3)
    assert (daily.limit, daily.burst) == (1, 1)
    assert rule.share(1) is rule
