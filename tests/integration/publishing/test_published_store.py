"""Published APIs are rows of the database, on the embedded default and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.published_store import PublishedApiStore, StoredApi

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


async def test_a_stored_api_is_read_back_with_its_texts_and_version(store: PublishedApiStore) -> None:
    version = await store.put("catalogue", "name: catalogue\n", "openapi: 3.0.3\n", at=AT)
    assert await store.versions() == {"catalogue": version}
    assert await store.load() == [StoredApi("catalogue", "name: catalogue\n", "openapi: 3.0.3\n", version)]


async def test_publishing_a_name_again_replaces_its_texts_under_a_new_version(store: PublishedApiStore) -> None:
    first = await store.put("catalogue", "v1", "doc v1", at=AT)
    second = await store.put("catalogue", "v2", "doc v2", at=AT)
    assert first != second
    assert await store.load() == [StoredApi("catalogue", "v2", "doc v2", second)]


async def test_load_reads_only_the_names_asked_for(store: PublishedApiStore) -> None:
    await store.put("catalogue", "c", "c-doc", at=AT)
    rates = await store.put("rates", "r", "r-doc", at=AT)
    assert await store.load(["rates"]) == [StoredApi("rates", "r", "r-doc", rates)]
    assert await store.load([]) == []


async def test_an_empty_store_has_no_versions(store: PublishedApiStore) -> None:
    assert await store.versions() == {}
    assert await store.load() == []


async def test_a_withdrawn_api_is_no_longer_stored(store: PublishedApiStore) -> None:
    await store.put("catalogue", "c", "c-doc", at=AT)
    assert await store.delete("catalogue")
    assert await store.versions() == {}
    assert not await store.delete("catalogue")
