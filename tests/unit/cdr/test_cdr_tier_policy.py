"""An operation's CDR performance tier: set in the policy file, or derived from the operation."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from policies import SHIPPED, load_policies
from policies.apis import load_api
from policies.errors import PolicyError
from policies.permissions import load_permissions

OPENAPI = SHIPPED.parent / "openapi" / "uk-ob-accounts-v4.yaml"
POLICY = """\
name: accounts
openapi: {openapi}
upstream: ${{upstream_url}}/open-banking/v4.0/aisp
base_path: /open-banking/v4.0/aisp
operations:
  GetAccounts:
    permissions: {{all_of: [ReadAccountsBasic]}}
    filter: accounts
  GetBalances:
    permissions: {{all_of: [ReadBalances]}}
    filter: balances
  GetAccountsAccountIdBalances:
    permissions: {{all_of: [ReadBalances]}}
    account_parameter: AccountId
    filter: balances
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.yaml"
    path.write_text(text.format(openapi=OPENAPI), encoding="utf-8")
    return path


def _tiers(path: Path) -> dict[str, str]:
    api = load_api(path, load_permissions(SHIPPED / "permissions.yaml"))
    return {op_id: op.cdr_tier for op_id, op in api.operations.items()}


def test_tier_defaults_to_low_priority_for_one_account_and_large_payload_for_a_bulk_read(tmp_path: Path) -> None:
    assert _tiers(_write(tmp_path, POLICY)) == {
        "GetAccounts": "large-payload",
        "GetBalances": "large-payload",
        "GetAccountsAccountIdBalances": "low-priority",
    }


def test_tier_set_in_the_policy_wins_over_the_default(tmp_path: Path) -> None:
    text = POLICY.replace("    filter: accounts\n", "    filter: accounts\n    cdr_tier: high-priority\n")
    assert _tiers(_write(tmp_path, text))["GetAccounts"] == "high-priority"


def test_unknown_tier_is_refused_naming_file_line_and_path(tmp_path: Path) -> None:
    text = POLICY.replace("    filter: accounts\n", "    filter: accounts\n    cdr_tier: urgent\n")
    with pytest.raises(PolicyError) as info:
        _tiers(_write(tmp_path, text))
    assert any(
        p.startswith("accounts.yaml:9: operations.GetAccounts.cdr_tier: 'urgent' is not one of")
        for p in info.value.problems
    ), info.value.problems


def test_shipped_policy_follows_the_cdr_endpoint_list() -> None:
    ops = load_policies().apis["uk-ob-accounts-v4"].operations
    assert {op_id: ops[op_id].cdr_tier for op_id in ("GetAccounts", "GetParty", "GetBalances", "GetDirectDebits")} == {
        "GetAccounts": "high-priority",  # CDR Get Accounts
        "GetParty": "high-priority",  # CDR Get Customer
        "GetBalances": "low-priority",  # CDR Get Bulk Balances
        "GetDirectDebits": "large-payload",  # CDR Get Bulk Direct Debits
    }


def test_apis_check_accepts_a_policy_with_tiers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(tmp_path / "data"))
    policy = SHIPPED / "apis" / "uk-ob-accounts-v4.yaml"
    assert main(["apis", "check", str(OPENAPI), str(policy)]) == 0
    assert capsys.readouterr().out.startswith("ok: uk-ob-accounts-v4 at /open-banking/v4.0/aisp")


def test_apis_check_refuses_an_unknown_tier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(tmp_path / "data"))
    text = POLICY.replace("    filter: accounts\n", "    filter: accounts\n    cdr_tier: urgent\n")
    assert main(["apis", "check", str(OPENAPI), str(_write(tmp_path, text))]) == 1
    assert "operations.GetAccounts.cdr_tier: 'urgent' is not one of" in capsys.readouterr().err
