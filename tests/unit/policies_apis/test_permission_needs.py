"""The catalogue's ``needs_one_of``: the UK OB transactions pairs as data, checked when the file is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import SHIPPED, PolicyError
from policies.permissions import PermissionCatalogue, UnmetNeed, load_permissions

GOOD = (SHIPPED / "permissions.yaml").read_text(encoding="utf-8")
BASIC_NEEDS = "needs_one_of: [ReadTransactionsCredits, ReadTransactionsDebits]"  # first: ReadTransactionsBasic's
CREDITS_NEEDS = "needs_one_of: [ReadTransactionsBasic, ReadTransactionsDetail]"  # first: ReadTransactionsCredits'
SMALL = """\
clusters:
  c: {title: {en: C, zh: C}, description: {en: C, zh: C}}
permissions:
  Base: {cluster: c, text: {en: b, zh: b}}
  Full: {cluster: c, detail: detail, implies: [Base], text: {en: f, zh: f}}
  Side: {cluster: c, needs_one_of: [Base], text: {en: s, zh: s}}
  Needy: {cluster: c, needs_one_of: [Side], text: {en: n, zh: n}}
  Wrapper: {cluster: c, implies: [Needy], text: {en: w, zh: w}}
"""


def _load(tmp_path: Path, text: str) -> PermissionCatalogue:
    (tmp_path / "permissions.yaml").write_text(text, encoding="utf-8")
    return load_permissions(tmp_path / "permissions.yaml")


def _refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        _load(tmp_path, text)
    return str(caught.value)


def _line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_shipped_catalogue_pairs_transactions_basic_and_detail_with_credits_or_debits() -> None:
    catalogue = load_permissions(SHIPPED / "permissions.yaml")
    for code in ("ReadTransactionsBasic", "ReadTransactionsDetail"):
        assert catalogue.permissions[code].needs_one_of == ("ReadTransactionsCredits", "ReadTransactionsDebits")
    for code in ("ReadTransactionsCredits", "ReadTransactionsDebits"):
        assert catalogue.permissions[code].needs_one_of == ("ReadTransactionsBasic", "ReadTransactionsDetail")


def test_loader_refuses_a_need_naming_an_unknown_code(tmp_path: Path) -> None:
    text = GOOD.replace(BASIC_NEEDS, "needs_one_of: [ReadTransactionsCredits, ReadTransactionsDebitz]", 1)
    line = _line_of(text, "  ReadTransactionsBasic:")
    assert (
        f"permissions.yaml:{line}: permissions.ReadTransactionsBasic.needs_one_of[1]: "
        "unknown permission 'ReadTransactionsDebitz'"
    ) in _refusal(tmp_path, text)


def test_loader_refuses_a_code_that_needs_itself(tmp_path: Path) -> None:
    text = GOOD.replace(CREDITS_NEEDS, "needs_one_of: [ReadTransactionsCredits]", 1)
    line = _line_of(text, "  ReadTransactionsCredits:")
    assert (
        f"permissions.yaml:{line}: permissions.ReadTransactionsCredits.needs_one_of[0]: "
        "ReadTransactionsCredits cannot need itself (the need would always be met)"
    ) in _refusal(tmp_path, text)


def test_loader_refuses_an_empty_need(tmp_path: Path) -> None:
    text = GOOD.replace(BASIC_NEEDS, "needs_one_of: []", 1)
    line = _line_of(text, "  ReadTransactionsBasic:")
    message = _refusal(tmp_path, text)
    assert f"permissions.yaml:{line}: permissions.ReadTransactionsBasic.needs_one_of: [] should be non-empty" in message


def test_loader_refuses_a_need_that_is_not_a_list(tmp_path: Path) -> None:
    text = GOOD.replace(BASIC_NEEDS, "needs_one_of: ReadTransactionsCredits", 1)
    message = _refusal(tmp_path, text)
    assert "permissions.ReadTransactionsBasic.needs_one_of: 'ReadTransactionsCredits' is not of type 'array'" in message


def test_a_need_is_met_by_a_code_that_implies_it(tmp_path: Path) -> None:
    assert _load(tmp_path, SMALL).unmet_needs(["Side", "Full"]) == []


def test_an_unmet_need_names_the_code_and_what_it_needs(tmp_path: Path) -> None:
    unmet = _load(tmp_path, SMALL).unmet_needs(["Side", "Needy"])
    assert unmet == [UnmetNeed("Side", "Side", ("Base",))]
    assert unmet[0].describe() == "Side needs at least one of Base"


def test_an_unmet_need_of_an_implied_code_names_both(tmp_path: Path) -> None:
    unmet = _load(tmp_path, SMALL).unmet_needs(["Wrapper"])
    assert unmet == [UnmetNeed("Wrapper", "Needy", ("Side",))]
    assert unmet[0].describe() == "Wrapper includes Needy, which needs at least one of Side"
