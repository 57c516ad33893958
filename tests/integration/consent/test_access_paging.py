"""The access history pages by keyset, newest first by (at, id), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from consent.model import AccessPage, AccessPosition, AccessRecord
from consent.sql import SqlConsentStore
from consent.tables import access_records
from tests.support.records import access_record


def _reads(store: SqlConsentStore, names: list[str], start: datetime | None = None) -> list[AccessRecord]:
    """One record per name under consent c-1, a second apart in the order given (the last is the newest)."""
    start = start or store.now()
    return [access_record(interaction_id=n, at=start + timedelta(seconds=i)) for i, n in enumerate(names)]


async def _all_pages(store: SqlConsentStore, size: int, first: AccessPage | None = None) -> list[str]:
    """The interaction ids of every page from ``first`` (or the newest) on, page by page."""
    page = first or await store.access_history(consent_id="c-1", limit=size)
    seen = [r.interaction_id for r in page]
    while page.next is not None:
        page = await store.access_history(consent_id="c-1", limit=size, after=page.next)
        seen += [r.interaction_id for r in page]
    return seen


async def test_a_record_written_between_page_reads_does_not_repeat_one(store: SqlConsentStore) -> None:
    await store.record_access(_reads(store, ["a", "b", "c", "d", "e"]))
    first = await store.access_history(consent_id="c-1", limit=2)
    assert [r.interaction_id for r in first] == ["e", "d"]
    await store.record_access(_reads(store, ["newer"], start=store.now() + timedelta(minutes=1)))
    assert await _all_pages(store, 2, first) == ["e", "d", "c", "b", "a"]


async def test_a_record_removed_between_page_reads_hides_none(store: SqlConsentStore) -> None:
    await store.record_access(_reads(store, ["a", "b", "c", "d", "e"]))
    first = await store.access_history(consent_id="c-1", limit=2)
    async with store.engine.begin() as conn:
        await conn.execute(sa.delete(access_records).where(access_records.c.interaction_id == "e"))
    assert await _all_pages(store, 2, first) == ["e", "d", "c", "b", "a"]


async def test_a_record_written_late_for_an_earlier_time_shows_on_a_later_page(store: SqlConsentStore) -> None:
    """The audit writer batches: a read can be stored after pages newer than it were read."""
    start = store.now()
    await store.record_access(_reads(store, ["a", "c", "e", "g"], start))
    first = await store.access_history(consent_id="c-1", limit=2)
    await store.record_access([access_record(interaction_id="b", at=start + timedelta(milliseconds=500))])
    assert await _all_pages(store, 2, first) == ["g", "e", "c", "b", "a"]


async def test_records_of_the_same_time_are_newest_id_first_and_paged_without_loss(store: SqlConsentStore) -> None:
    same = store.now()
    await store.record_access([access_record(interaction_id=f"i-{n}", at=same) for n in range(5)])
    pages = [await store.access_history(consent_id="c-1", limit=2)]
    while (last := pages[-1].next) is not None:
        assert last.at == same
        pages.append(await store.access_history(consent_id="c-1", limit=2, after=last))
    assert [[r.interaction_id for r in p] for p in pages] == [["i-4", "i-3"], ["i-2", "i-1"], ["i-0"]]


async def test_a_page_that_ends_the_history_has_no_next(store: SqlConsentStore) -> None:
    await store.record_access(_reads(store, ["a", "b"]))
    page = await store.access_history(consent_id="c-1", limit=2)
    assert ([r.interaction_id for r in page], page.next) == (["b", "a"], None)


async def test_a_page_with_more_after_it_ends_at_its_last_record(store: SqlConsentStore) -> None:
    await store.record_access(_reads(store, ["a", "b", "c"]))
    page = await store.access_history(consent_id="c-1", limit=2)
    async with store.engine.connect() as conn:
        b_id = (await conn.execute(sa.select(access_records.c.id).where(access_records.c.interaction_id == "b"))).one()
    assert page.next == AccessPosition(page[-1].at, b_id[0])


async def test_a_user_history_pages_by_keyset_across_consents(store: SqlConsentStore) -> None:
    start = store.now()
    records = [
        access_record(interaction_id=f"i-{n}", at=start + timedelta(seconds=n), consent_id=f"c-{n % 2}")
        for n in range(5)
    ]
    await store.record_access([*records, access_record(interaction_id="bob's", user_id="bob", at=start)])
    page = await store.access_history(user_id="alice", limit=3)
    rest = await store.access_history(user_id="alice", limit=3, after=page.next)
    assert [r.interaction_id for r in (*page, *rest)] == ["i-4", "i-3", "i-2", "i-1", "i-0"]
    assert rest.next is None
