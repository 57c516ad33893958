from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from policies import load_policies
from policies.apis import PermissionRule, load_api, load_apis
from policies.errors import PolicyError
from policies.permissions import PermissionCatalogue
from tests.support.policies import shipped_policies_copy
from tests.unit.policies_apis.conftest import POLICY


def test_load_api_reads_operations_and_compiles_the_document(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    api = load_api(write_policy(), catalogue)
    assert api.name == "accounts"
    assert api.base_path == "/open-banking/v4.0/aisp"
    assert api.upstream_url({"upstream_url": "http://bank:8100/"}) == "http://bank:8100/open-banking/v4.0/aisp"
    op = api.operations["GetAccountsAccountIdTransactions"]
    assert op.account_parameter == "AccountId"
    assert op.date_window is True
    assert op.purposes == frozenset({"aggregation", "lending"})
    assert op.limits == ("per-wallet",)
    assert op.spec.path_template == "/accounts/{AccountId}/transactions"
    assert api.operations["GetAccounts"].purposes is None


def test_permission_rule_needs_all_of_and_one_of_any_of() -> None:
    rule = PermissionRule(frozenset({"ReadAccountsBasic"}), frozenset({"ReadBalances", "ReadPAN"}))
    assert rule.allows(frozenset({"ReadAccountsBasic", "ReadPAN"}))
    assert not rule.allows(frozenset({"ReadAccountsBasic"}))
    assert not rule.allows(frozenset({"ReadBalances"}))


def _refusal(write_policy: Callable[..., Path], catalogue: PermissionCatalogue, text: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_api(write_policy(text), catalogue)
    return str(info.value)


def test_loader_refuses_unknown_key_naming_file_line_and_path(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    text = POLICY.replace("    filter: accounts\n", "    filter: accounts\n    permisions: {{}}\n")
    assert "accounts.yaml:10: operations.GetAccounts.permisions: unknown key 'permisions'" in _refusal(
        write_policy, catalogue, text
    )


def test_loader_refuses_operation_missing_from_document(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    text = POLICY.replace("  GetAccounts:\n", "  GetAccountz:\n")
    assert "operations.GetAccountz: operationId 'GetAccountz' is not in" in _refusal(write_policy, catalogue, text)


def test_loader_refuses_unknown_permission(write_policy: Callable[..., Path], catalogue: PermissionCatalogue) -> None:
    text = POLICY.replace("ReadAccountsDetail]", "ReadAccountsDetial]")
    assert "operations.GetAccounts.permissions.any_of[1]: unknown permission 'ReadAccountsDetial'" in _refusal(
        write_policy, catalogue, text
    )


def test_loader_refuses_windowed_operation_without_filter(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    text = POLICY.replace("    filter: transactions\n", "")
    assert "operations.GetAccountsAccountIdTransactions: 'filter' is a required property" in _refusal(
        write_policy, catalogue, text
    )


def test_loader_refuses_account_parameter_not_in_path(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    text = POLICY.replace("account_parameter: AccountId", "account_parameter: StatementId")
    assert "'StatementId' is not a path parameter of /accounts/{AccountId}/transactions" in _refusal(
        write_policy, catalogue, text
    )


def test_loader_refuses_unknown_upstream_variable(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    text = POLICY.replace("${{upstream_url}}", "${{bank_url}}")
    assert "accounts.yaml:3: upstream: unknown variable(s) bank_url" in _refusal(write_policy, catalogue, text)


def test_loader_reads_the_banks_other_link_bases(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    text = POLICY.replace("base_path:", "link_bases: [https://api.bank.example/aisp/]\nbase_path:")
    assert load_api(write_policy(text), catalogue).link_bases == ("https://api.bank.example/aisp",)


def test_loader_refuses_a_link_base_that_is_not_an_http_url(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    text = POLICY.replace("base_path:", "link_bases: [https://api.bank.example/aisp, api.bank.example]\nbase_path:")
    assert "link_bases[1]: expected an http(s) URL, found 'api.bank.example'" in _refusal(write_policy, catalogue, text)


def test_loader_refuses_missing_document(write_policy: Callable[..., Path], catalogue: PermissionCatalogue) -> None:
    text = POLICY.replace("openapi: {openapi}", "openapi: nowhere.yaml")
    message = _refusal(write_policy, catalogue, text)
    assert "accounts.yaml:2: openapi: the OpenAPI document is refused" in message
    assert "nowhere.yaml: file not found" in message


def test_load_apis_refuses_two_apis_on_one_base_path(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    write_policy()
    second = write_policy(POLICY.replace("name: accounts", "name: other"), name="other.yaml")
    with pytest.raises(PolicyError) as info:
        load_apis(second.parent, catalogue)
    assert "apis/other.yaml: base_path '/open-banking/v4.0/aisp' is already used by apis/accounts.yaml" in str(
        info.value
    )


def test_the_policy_set_refuses_a_shipped_operation_naming_an_unknown_purpose(tmp_path: Path) -> None:
    folder = shipped_policies_copy(tmp_path)
    policy = folder / "apis" / "uk-ob-accounts-v4.yaml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("  GetAccounts:\n", "  GetAccounts:\n    purposes: [aggregaton]\n", 1), "utf-8")
    with pytest.raises(PolicyError, match=r"operations\.GetAccounts\.purposes: unknown purpose 'aggregaton'"):
        load_policies(folder)
