"""The purposes policy: what ships, and every refusal of a bad file (file, line, path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import SHIPPED, PolicyError
from policies.permissions import load_permissions
from policies.purposes import PurposeCatalogue, load_purposes

GOOD = (SHIPPED / "purposes.yaml").read_text(encoding="utf-8")
PERMISSIONS = load_permissions(SHIPPED / "permissions.yaml")


def _shipped() -> PurposeCatalogue:
    return load_purposes(SHIPPED / "purposes.yaml", PERMISSIONS)


def _refusal(tmp_path: Path, text: str) -> str:
    (tmp_path / "purposes.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_purposes(tmp_path / "purposes.yaml", PERMISSIONS)
    return str(caught.value)


def test_shipped_policy_defines_aggregation_lending_and_marketing() -> None:
    purposes = _shipped()
    assert set(purposes.purposes) >= {"aggregation", "lending", "marketing"}
    assert purposes.max_duration_days <= 365
    assert all(p.max_duration_days <= purposes.max_duration_days for p in purposes.purposes.values())


def test_shipped_lending_reads_24_months_for_at_most_90_days() -> None:
    lending = _shipped().purposes["lending"]
    assert (lending.max_history_months, lending.max_duration_days) == (24, 90)


def test_shipped_marketing_needs_opt_in_and_carries_no_transaction_detail_or_party_data() -> None:
    marketing = _shipped().purposes["marketing"]
    assert marketing.requires_explicit_opt_in
    assert marketing.max_duration_days <= 90
    assert not marketing.permissions & {"ReadTransactionsDetail", "ReadParty", "ReadPartyPSU"}


def test_every_purpose_speaks_english_and_chinese() -> None:
    for purpose in _shipped().purposes.values():
        assert set(purpose.text) == {"en", "zh"}
        assert all(purpose.text.values())


def test_duration_limit_is_the_strictest_purpose() -> None:
    purposes = _shipped()
    assert purposes.duration_limit_days(("aggregation", "lending")) == 90


def test_loader_refuses_unknown_key_naming_file_line_and_path(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    attended_only: false\n\n  lending:", "    attended_only: false\n    maxdays: 3\n\n  lending:"
    )
    message = _refusal(tmp_path, text)
    line = text.splitlines().index("    maxdays: 3") + 1
    assert f"purposes.yaml:{line}: purposes.aggregation.maxdays: unknown key 'maxdays'" in message


def test_loader_refuses_duplicate_key_naming_line(tmp_path: Path) -> None:
    text = GOOD.replace("    max_duration_days: 90\n", "    max_duration_days: 90\n    max_duration_days: 30\n", 1)
    line = text.splitlines().index("    max_duration_days: 30") + 1
    assert f"purposes.yaml:{line}: duplicate key 'max_duration_days'" in _refusal(tmp_path, text)


def test_loader_refuses_unknown_permission_code(tmp_path: Path) -> None:
    text = GOOD.replace("      - ReadOffers\n    max_duration_days: 90", "      - ReadMinds\n    max_duration_days: 90")
    message = _refusal(tmp_path, text)
    assert "purposes.marketing.permissions[3]: unknown permission code 'ReadMinds'" in message


def test_loader_refuses_purpose_longer_than_global_cap(tmp_path: Path) -> None:
    text = GOOD.replace("max_duration_days: 365\n", "max_duration_days: 180\n", 1)
    assert "purposes.aggregation.max_duration_days: 365 days is above the global cap of 180 days" in _refusal(
        tmp_path, text
    )


def test_loader_refuses_global_cap_above_twelve_months(tmp_path: Path) -> None:
    text = GOOD.replace("max_duration_days: 365\n", "max_duration_days: 400\n", 1)
    assert "purposes.yaml:5: max_duration_days: 400 is greater than the maximum of 365" in _refusal(tmp_path, text)


def test_loader_refuses_recipient_kinds_when_sharing_is_not_allowed(tmp_path: Path) -> None:
    text = GOOD.replace("{allowed: false, recipient_kinds: []}", "{allowed: false, recipient_kinds: [broker]}", 1)
    assert "purposes.aggregation.onward_sharing.recipient_kinds" in _refusal(tmp_path, text)
