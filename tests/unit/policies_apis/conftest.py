from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from policies import SHIPPED
from policies.permissions import PermissionCatalogue, load_permissions

POLICY = """\
name: accounts
openapi: {openapi}
upstream: ${{upstream_url}}/open-banking/v4.0/aisp
base_path: /open-banking/v4.0/aisp
response_validation: enforce
operations:
  GetAccounts:
    permissions: {{any_of: [ReadAccountsBasic, ReadAccountsDetail]}}
    filter: accounts
    scopes: [accounts]
  GetAccountsAccountIdTransactions:
    permissions: {{any_of: [ReadTransactionsBasic, ReadTransactionsCredits, ReadTransactionsDebits]}}
    account_parameter: AccountId
    date_window: true
    filter: transactions
    scopes: [accounts]
    purposes: [aggregation, lending]
    limits: [per-wallet]
"""


@pytest.fixture(scope="session")
def catalogue() -> PermissionCatalogue:
    return load_permissions(SHIPPED / "permissions.yaml")


@pytest.fixture
def write_policy(tmp_path: Path, uk_ob_accounts_v4: Path) -> Callable[..., Path]:
    """Write a policy file (the default one, or ``text``) next to a copy of nothing: it names the official document."""

    def write(text: str | None = None, name: str = "accounts.yaml") -> Path:
        folder = tmp_path / "apis"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_text((text or POLICY).format(openapi=uk_ob_accounts_v4), encoding="utf-8")
        return path

    return write
