"""The consent lists page by keyset, newest first by (created_at, consent_id), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from consent.model import Consent, ConsentPage, NewConsent
from consent.sql import SqlConsentStore
from consent.tables import consents
from gateway.clock import FrozenClock


async def _consent(store: SqlConsentStore, *, client: str = "wallet-1", purpose: str = "aggregation", **kw) -> Consent:
    new = NewConsent(client_id=client, permissions=frozenset({"ReadAccountsBasic"}), purposes=(purpose,), **kw)
    created = await store.create(new)
    return await store.authorise(created.consent_id, user_id="alice", account_ids=["acc-1"])


async def _made(store: SqlConsentStore, clock: FrozenClock, count: int, **kw) -> list[Consent]:
    """``count`` consents of alice's, a second apart, newest first."""
    made = []
    for _ in range(count):
        made.append(await _consent(store, **kw))
        clock.advance(1)
    return made[::-1]


def _ids(*pages: ConsentPage) -> list[str]:
    return [c.consent_id for page in pages for c in page.items]


async def _rest(store: SqlConsentStore, first: ConsentPage, **filters) -> list[ConsentPage]:
    """The pages of alice's list that follow ``first``, with the same filters."""
    pages = [first]
    while (after := pages[-1].next) is not None:
        pages.append(await store.list_for_user("alice", after=after, **filters))
    return pages


async def test_a_consent_created_between_page_reads_neither_repeats_nor_hides_one(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    made = await _made(store, frozen_clock, 5)
    first = await store.list_for_user("alice", limit=2)
    await _consent(store)
    pages = await _rest(store, first, limit=2)
    assert _ids(*pages) == [c.consent_id for c in made]


async def test_a_consent_removed_between_page_reads_hides_none(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    made = await _made(store, frozen_clock, 5)
    first = await store.list_for_user("alice", limit=2)
    async with store.engine.begin() as conn:
        await conn.execute(sa.delete(consents).where(consents.c.consent_id == made[0].consent_id))
    pages = await _rest(store, first, limit=2)
    assert _ids(*pages) == [c.consent_id for c in made]


async def test_consents_created_at_the_same_time_are_paged_by_id_descending_without_loss(
    store: SqlConsentStore,
) -> None:
    made = [await _consent(store) for _ in range(5)]  # the clock stands still: one created_at
    pages = await _rest(store, await store.list_for_user("alice", limit=2), limit=2)
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert _ids(*pages) == sorted((c.consent_id for c in made), reverse=True)


async def test_the_last_page_has_no_next_and_a_page_with_more_ends_at_its_last_consent(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    made = await _made(store, frozen_clock, 3)
    page = await store.list_for_user("alice", limit=2)
    assert page.next is not None
    assert (page.next.created_at, page.next.consent_id) == (made[1].created_at, made[1].consent_id)
    assert (await store.list_for_user("alice", limit=3)).next is None


async def test_a_purpose_filtered_page_is_full_while_more_match(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    lending = []
    for n in range(9):  # two aggregation consents between each lending one
        consent = await _consent(store, purpose="lending" if n % 3 == 0 else "aggregation")
        lending += [consent] if n % 3 == 0 else []
        frozen_clock.advance(1)
    pages = await _rest(
        store, await store.list_for_user("alice", purpose="lending", limit=2), purpose="lending", limit=2
    )
    assert [len(p.items) for p in pages] == [2, 1]
    assert _ids(*pages) == [c.consent_id for c in reversed(lending)]


async def test_a_status_filtered_page_is_full_when_a_consent_expires_on_reading(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    older = await _made(store, frozen_clock, 2)
    await _consent(store, expires_at=store.now() + timedelta(minutes=5))
    frozen_clock.advance(600)  # the newest consent is now past its expiry, still stored AUTH
    page = await store.list_for_user("alice", status="AUTH", limit=2)
    assert (_ids(page), page.next) == ([c.consent_id for c in older], None)


async def test_the_expired_filter_finds_a_consent_that_expires_on_reading(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    await _made(store, frozen_clock, 2)
    due = await _consent(store, expires_at=store.now() + timedelta(minutes=5))
    frozen_clock.advance(600)
    assert _ids(await store.list_for_user("alice", status="EXPD")) == [due.consent_id]


async def test_the_wallet_filter_pages_by_cursor_without_the_other_wallets_consents(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    mine = []
    for n in range(6):
        consent = await _consent(store, client="wallet-1" if n % 2 else "wallet-2")
        mine += [consent] if n % 2 else []
        frozen_clock.advance(1)
    pages = await _rest(
        store, await store.list_for_user("alice", client_id="wallet-1", limit=2), client_id="wallet-1", limit=2
    )
    assert _ids(*pages) == [c.consent_id for c in reversed(mine)]


async def test_a_client_list_created_into_between_page_reads_neither_repeats_nor_hides_one(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    made = await _made(store, frozen_clock, 5)
    await _consent(store, client="wallet-2")
    pages = [await store.list_for_client("wallet-1", limit=2)]
    await _consent(store)
    while (after := pages[-1].next) is not None:
        pages.append(await store.list_for_client("wallet-1", limit=2, after=after))
    assert _ids(*pages) == [c.consent_id for c in made]
