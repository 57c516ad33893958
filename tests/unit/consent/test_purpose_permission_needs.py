"""A purpose must allow a valid combination of every code it allows (the catalogue's ``needs_one_of``).

A purpose allowing ReadTransactionsCredits but neither ReadTransactionsBasic nor ReadTransactionsDetail
offers a permission no consent for it could ever carry; purposes.yaml is refused at load, naming it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import SHIPPED, PolicyError
from policies.permissions import load_permissions
from policies.purposes import PurposeCatalogue, load_purposes

GOOD = (SHIPPED / "purposes.yaml").read_text(encoding="utf-8")
PERMISSIONS = load_permissions(SHIPPED / "permissions.yaml")
LENDING_TRANSACTIONS = """\
      - ReadTransactionsBasic
      - ReadTransactionsCredits
      - ReadTransactionsDebits
      - ReadTransactionsDetail
      - ReadPartyPSU
"""


def _load(tmp_path: Path, text: str) -> PurposeCatalogue:
    (tmp_path / "purposes.yaml").write_text(text, encoding="utf-8")
    return load_purposes(tmp_path / "purposes.yaml", PERMISSIONS)


def _refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        _load(tmp_path, text)
    return str(caught.value)


def _permissions_line(text: str, purpose: str) -> int:
    lines = text.splitlines()
    start = lines.index(f"  {purpose}:")
    return lines.index("    permissions:", start) + 1


def test_every_shipped_purpose_allows_only_codes_it_can_pair() -> None:
    purposes = load_purposes(SHIPPED / "purposes.yaml", PERMISSIONS)
    for purpose in purposes.purposes.values():
        assert PERMISSIONS.unmet_needs(purpose.permissions) == [], purpose.id


def test_loader_refuses_a_purpose_allowing_credits_without_basic_or_detail(tmp_path: Path) -> None:
    marketing_end = "      - ReadOffers\n    max_duration_days: 90"
    text = GOOD.replace(marketing_end, "      - ReadOffers\n      - ReadTransactionsCredits\n    max_duration_days: 90")
    line = _permissions_line(text, "marketing")
    assert (
        f"purposes.yaml:{line}: purposes.marketing.permissions[4]: ReadTransactionsCredits needs at least one of "
        "ReadTransactionsBasic, ReadTransactionsDetail, and the purpose allows none of them"
    ) in _refusal(tmp_path, text)


def test_loader_refuses_a_purpose_allowing_transactions_detail_without_credits_or_debits(tmp_path: Path) -> None:
    text = GOOD.replace(LENDING_TRANSACTIONS, "      - ReadTransactionsDetail\n      - ReadPartyPSU\n", 1)
    line = _permissions_line(text, "lending")
    assert (
        f"purposes.yaml:{line}: purposes.lending.permissions[6]: ReadTransactionsDetail needs at least one of "
        "ReadTransactionsCredits, ReadTransactionsDebits, and the purpose allows none of them"
    ) in _refusal(tmp_path, text)


def test_loader_accepts_a_purpose_pairing_credits_with_detail_alone(tmp_path: Path) -> None:
    kept = "      - ReadTransactionsCredits\n      - ReadTransactionsDetail\n      - ReadPartyPSU\n"
    lending = _load(tmp_path, GOOD.replace(LENDING_TRANSACTIONS, kept, 1)).purposes["lending"]
    assert {"ReadTransactionsCredits", "ReadTransactionsDetail"} <= lending.permissions
    assert "ReadTransactionsBasic" not in lending.permissions
