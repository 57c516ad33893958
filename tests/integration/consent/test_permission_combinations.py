"""The SQL store (SQLite and PostgreSQL) refuses a transactions permission without its UK OB counterpart,
at creation and at amendment, writing nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from consent.errors import ConsentFieldError
from consent.model import Actor, NewConsent
from consent.sql import SqlConsentStore
from consent.tables import consents

CREDITS_OR_DEBITS = (
    "ReadTransactionsBasic needs at least one of ReadTransactionsCredits, ReadTransactionsDebits in the same consent."
)


async def test_store_refuses_to_create_transactions_basic_alone_and_writes_nothing(store: SqlConsentStore) -> None:
    new = NewConsent(client_id="wallet-1", permissions=frozenset({"ReadTransactionsBasic"}), purposes=("aggregation",))
    with pytest.raises(ConsentFieldError) as caught:
        await store.create(new)
    assert (caught.value.message, caught.value.path) == (CREDITS_OR_DEBITS, "Data.Permissions")
    async with store.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(consents))).scalar() == 0


async def test_store_refuses_an_amendment_that_keeps_basic_without_credits_or_debits(store: SqlConsentStore) -> None:
    held = frozenset({"ReadBalances", "ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"})
    created = await store.create(NewConsent(client_id="wallet-1", permissions=held, purposes=("aggregation",)))
    consent = await store.authorise(created.consent_id, user_id="alice", account_ids=["acc-1"])
    with pytest.raises(ConsentFieldError) as caught:
        await store.amend(
            consent.consent_id,
            actor=Actor.USER,
            actor_id="alice",
            permissions=["ReadBalances", "ReadTransactionsBasic"],
        )
    assert (caught.value.message, caught.value.path) == (CREDITS_OR_DEBITS, "permissions")
    assert await store.get(consent.consent_id) == consent
    assert [e.kind for e in await store.events(consent.consent_id)] == ["created", "authorised"]
