"""limits.yaml: the shipped file loads; a bad file is refused naming file, line and path."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from policies import SHIPPED, load_policies
from policies.errors import PolicyError
from policies.limits import DailyFrequency, load_limits, parse_period


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "limits.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_limits(path)
    return caught.value.problems


def test_shipped_limits_carry_the_cdr_and_berlin_group_numbers() -> None:
    limits = load_limits(SHIPPED / "limits.yaml")
    assert limits.wallet_attended is not None
    assert (limits.wallet_attended.rate, limits.wallet_attended.period) == (
        50,
        1,
    )
    assert limits.user_attended is not None
    assert limits.user_attended.rate == 10
    assert limits.frequency.default == 4
    assert set(limits.endpoints) == {"token", "par", "register"}


def test_policy_set_carries_the_limits() -> None:
    assert load_policies(SHIPPED).limits.wallet_attended is not None


def test_every_schema_field_has_a_description_and_a_default() -> None:
    schema = json.loads((SHIPPED / "schemas" / "limits.schema.json").read_text(encoding="utf-8"))
    missing = []

    def default_of(sub: dict[str, Any]) -> bool:
        ref = sub.get("$ref", "")
        return "default" in sub or (ref.startswith("#/$defs/") and "default" in schema["$defs"][ref[8:]])

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub or not default_of(sub):
                    missing.append(f"{where}.{name}")
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")

    walk(schema, "")
    assert missing == []


def test_periods_are_read_in_seconds() -> None:
    assert parse_period("10m") == 600
    assert parse_period("1d") == 86400


def test_unknown_key_is_refused_with_file_line_and_path(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "wallet:\n  attended: {rate: 50, per: 1s, brust: 5}\n")
    assert problems == ["limits.yaml:2: wallet.attended.brust: unknown key 'brust'"]


def test_fixed_window_style_period_is_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "user:\n  attended: {rate: 10, per: second}\n")
    assert len(problems) == 1
    assert problems[0].startswith("limits.yaml:2: user.attended.per: 'second' does not match")


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "wallet:\n  unattended: {rate: 5, mode: shadow}\n")
    assert problems[0].startswith("limits.yaml:2: wallet.unattended.mode: 'shadow' is not one of")


def test_frequency_default_above_cap_is_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "frequency_per_day:\n  default: 10\n  cap: 4\n")
    assert problems == ["limits.yaml:2: frequency_per_day.default: default 10 is above the cap 4"]


def test_unknown_on_redis_failure_is_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "apis:\n  bank:\n    on_redis_failure: maybe\n")
    assert problems[0].startswith("limits.yaml:3: apis.bank.on_redis_failure: 'maybe' is not one of")


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "instances: 2\ninstances: 3\n")
    assert problems == ["limits.yaml:2: duplicate key 'instances'"]


def test_missing_file_means_defaults_only_when_allowed(tmp_path: Path) -> None:
    assert load_limits(tmp_path / "limits.yaml", missing_ok=True).wallet_attended is None
    with pytest.raises(PolicyError, match=r"limits\.yaml: file not found"):
        load_limits(tmp_path / "limits.yaml")


def test_endpoint_limits_and_burst_default(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text("endpoints:\n  on_redis_failure: closed\n  token:\n    per_address: {rate: 7, per: 1m}\n")
    limits = load_limits(path)
    rate = limits.endpoints["token"].per_address
    assert rate is not None
    assert (rate.rate, rate.period, rate.burst) == (7, 60, 7)
    assert limits.endpoints_on_redis_failure == "closed"


@pytest.mark.parametrize(
    ("asked", "allowed"),
    [(None, 4), (0, 4), (2, 2), (10, 10), (100, 24)],
)
def test_consent_frequency_lowers_or_raises_the_default_up_to_the_cap(asked: int | None, allowed: int) -> None:
    assert DailyFrequency(default=4, cap=24).allowed(asked) == allowed


def test_operation_listing_an_undefined_rule_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text("rules:\n  heavy: {rate: 2, per: 1m}\n", encoding="utf-8")
    operation = SimpleNamespace(limits=("heavy", "haevy"))
    api = SimpleNamespace(source="apis/bank.yaml", operations={"GetTransactions": operation})
    with pytest.raises(PolicyError) as caught:
        load_limits(path, apis={"bank": api})  # type: ignore[dict-item]
    assert caught.value.problems == [
        "apis/bank.yaml: operations.GetTransactions.limits: unknown limit rule 'haevy' (limits.yaml defines: heavy)"
    ]
