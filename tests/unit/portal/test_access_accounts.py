"""Which accounts an access record read, as the consent page's history row names them."""

from __future__ import annotations

from gateway.portal.catalogue import Text
from gateway.portal.consent_view import access
from tests.support.records import access_record


def test_a_record_names_its_accounts_in_order_each_once() -> None:
    record = access_record(account_ids=("acc-2", "acc-1", "acc-2"))
    assert access(record, Text("en"))["accounts"] == "acc-2, acc-1"


def test_a_record_naming_no_account_says_no_account_data() -> None:
    assert access(access_record(account_ids=()), Text("en"))["accounts"] == "No account data"


def test_a_record_naming_no_account_says_so_in_chinese() -> None:
    assert access(access_record(account_ids=()), Text("zh"))["accounts"] == "无账户数据"
