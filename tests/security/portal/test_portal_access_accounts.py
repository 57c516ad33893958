"""The consent page's access history names the accounts each call read, as its access record names them.

The records are written through the consent store into the demo's own database, as the gateway's
audit step writes them (docs/publishing.md): a call about one account names that account; a bulk
call names only the accounts whose data reached the wallet, and none when none did.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consent.db import open_engine
from consent.model import AccessRecord
from consent.sql import SqlConsentStore
from policies import load_policies
from sandbox.wallet.client import AISP, Wallet
from tests.security.portal.conftest import PortalClient, PortalWorld, field_value, logged_in
from tests.support.records import access_record

READER = "reader-wallet"
PERMISSIONS = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits"]
ONE_ACCOUNT = {"operation_id": "GetAccountBalances", "record_count": 1}
BULK = {"operation_id": "GetTransactions", "path": f"{AISP}/transactions"}
ACCOUNTS_HEADER = {"en": "Accounts", "zh": "账户"}  # the access history column header


@pytest.fixture(scope="module")
def reader(world: PortalWorld) -> Wallet:
    return Wallet(world.demo.register_wallet("Reader App", READER))


def approved(world: PortalWorld, wallet: Wallet, user: str, accounts: tuple[str, ...]) -> tuple[PortalClient, str]:
    """``user`` approves a new consent of ``wallet`` for ``accounts``; returns their client and the consent id."""
    client = logged_in(world, user)
    consent_id = wallet.create_consent(PERMISSIONS, "aggregation", days=30, history_days=90)
    screen = client.follow(wallet.push_authorization_request(consent_id))
    assert screen.status_code == 200, screen.text
    form = [("request_uri", field_value(screen.text, "request_uri")), ("csrf", field_value(screen.text, "csrf"))]
    answer = client.post(
        "/authorize/decision", data=[*form, *(("account_id", a) for a in accounts), ("decision", "approve")]
    )
    assert answer.is_redirect, answer.text
    return client, consent_id


def record(world: PortalWorld, consent_id: str, user: str, **fields: Any) -> None:
    """Write one access record of the reader wallet for ``consent_id`` through the demo's consent store."""
    written = access_record(
        interaction_id=uuid.uuid4().hex,
        at=datetime.now(UTC),
        client_id=READER,
        consent_id=consent_id,
        user_id=user,
        **fields,
    )
    asyncio.run(_write(world.demo.data_dir / "walletgate.db", written))


async def _write(database: Path, written: AccessRecord) -> None:
    assert database.is_file(), f"the demo keeps no database at {database}"
    engine = open_engine(f"sqlite:///{database}")
    try:
        await SqlConsentStore(engine, load_policies(), time.time).record_access([written])
    finally:
        await engine.dispose()


def accounts_cells(client: PortalClient, consent_id: str, lang: str = "en") -> list[str]:
    """The access history's accounts cells, newest first (each cell labelled with its column's header)."""
    page = client.get(f"/dashboard/consents/{consent_id}", params={"lang": lang})
    assert page.status_code == 200, page.text
    label = re.escape(ACCOUNTS_HEADER[lang])
    return [html.unescape(cell) for cell in re.findall(rf'<td data-label="{label}">([^<]*)</td>', page.text)]


@pytest.fixture
def alices(world: PortalWorld, reader: Wallet) -> tuple[PortalClient, str]:
    """Alice's consent for the reader wallet covering two of her accounts."""
    return approved(world, reader, "alice", ("acc-alice-savings", "acc-alice-travel"))


def test_a_call_about_one_account_names_that_account(world: PortalWorld, alices: tuple[PortalClient, str]) -> None:
    alice, consent_id = alices
    path = f"{AISP}/accounts/acc-alice-savings/balances"
    record(world, consent_id, "alice", **ONE_ACCOUNT, path=path, account_ids=("acc-alice-savings",))
    assert accounts_cells(alice, consent_id) == ["acc-alice-savings"]


def test_a_bulk_call_that_read_one_of_two_accounts_names_only_that_one(
    world: PortalWorld, alices: tuple[PortalClient, str]
) -> None:
    alice, consent_id = alices
    record(world, consent_id, "alice", **BULK, account_ids=("acc-alice-travel",), record_count=3)
    assert accounts_cells(alice, consent_id) == ["acc-alice-travel"]


def test_a_bulk_call_that_read_two_accounts_names_both(world: PortalWorld, alices: tuple[PortalClient, str]) -> None:
    alice, consent_id = alices
    both = ("acc-alice-savings", "acc-alice-travel")
    record(world, consent_id, "alice", **BULK, account_ids=both, record_count=5)
    assert accounts_cells(alice, consent_id) == ["acc-alice-savings, acc-alice-travel"]


def test_a_record_naming_no_account_says_no_account_data(world: PortalWorld, alices: tuple[PortalClient, str]) -> None:
    alice, consent_id = alices
    record(world, consent_id, "alice", **BULK, account_ids=(), record_count=0)
    assert accounts_cells(alice, consent_id) == ["No account data"]


def test_in_chinese_a_call_about_one_account_names_that_account(
    world: PortalWorld, alices: tuple[PortalClient, str]
) -> None:
    alice, consent_id = alices
    path = f"{AISP}/accounts/acc-alice-travel/balances"
    record(world, consent_id, "alice", **ONE_ACCOUNT, path=path, account_ids=("acc-alice-travel",))
    assert accounts_cells(alice, consent_id, "zh") == ["acc-alice-travel"]


def test_in_chinese_a_record_naming_no_account_says_so_in_chinese(
    world: PortalWorld, alices: tuple[PortalClient, str]
) -> None:
    alice, consent_id = alices
    record(world, consent_id, "alice", **BULK, account_ids=(), record_count=0)
    assert accounts_cells(alice, consent_id, "zh") == ["无账户数据"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_accounts_column_has_a_header_cell_scoped_to_its_column(
    world: PortalWorld, alices: tuple[PortalClient, str], lang: str
) -> None:
    alice, consent_id = alices
    record(world, consent_id, "alice", **BULK, account_ids=("acc-alice-savings",), record_count=1)
    page = alice.get(f"/dashboard/consents/{consent_id}", params={"lang": lang}).text
    history = page.split('id="access-history"', 1)[1].split("</table>", 1)[0]
    headers = re.findall(r'<th scope="col">([^<]*)</th>', history.split("</thead>", 1)[0])
    assert ACCOUNTS_HEADER[lang] in headers
    assert len(headers) == len(re.findall(r"<td ", history))  # one row: a header cell for every cell


def test_each_user_sees_only_the_accounts_their_own_consents_read(world: PortalWorld, reader: Wallet) -> None:
    alice, alice_consent = approved(world, reader, "alice", ("acc-alice-card",))
    bob, bob_consent = approved(world, reader, "bob", ("acc-bob-card",))
    record(world, alice_consent, "alice", **BULK, account_ids=("acc-alice-card",), record_count=2)
    record(world, bob_consent, "bob", **BULK, account_ids=("acc-bob-card",), record_count=2)
    assert accounts_cells(alice, alice_consent) == ["acc-alice-card"]
    assert accounts_cells(bob, bob_consent) == ["acc-bob-card"]
    assert "acc-bob" not in alice.get(f"/dashboard/consents/{alice_consent}").text
    assert "acc-alice" not in bob.get(f"/dashboard/consents/{bob_consent}").text
    assert bob.get(f"/dashboard/consents/{alice_consent}").status_code == 404
