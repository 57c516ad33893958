"""Every instance serves what the database holds: it syncs its own overlay folder from the rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.published_store import PublishedApiStore
from gateway.publishing import PublishedApis
from tests.integration.pipeline.conftest import OPENAPI, POLICY
from tests.integration.publishing.conftest import POLICIES, CountingStore

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CATALOGUE = POLICY.format(upstream="http://127.0.0.1:9")


async def _serving_catalogue(store: PublishedApiStore, instance: Callable[[str], PublishedApis]) -> PublishedApis:
    """An instance that has synced the catalogue API from the store."""
    live = instance("one")
    await store.put("catalogue", CATALOGUE, OPENAPI, at=AT)
    await live.sync()
    return live


async def test_an_api_stored_once_is_served_by_instances_with_their_own_folders(
    store: PublishedApiStore, instance: Callable[[str], PublishedApis]
) -> None:
    first, second = instance("one"), instance("two")
    await store.put("catalogue", CATALOGUE, OPENAPI, at=AT)
    assert await first.sync()
    assert await second.sync()
    for live in (first, second):
        found = live.find("/catalogue/v1/products")
        assert found is not None
        assert found[0].name == "catalogue"
        assert set(live.apis) == {*POLICIES.apis, "catalogue"}


async def test_an_api_published_again_replaces_the_live_one(
    store: PublishedApiStore, instance: Callable[[str], PublishedApis]
) -> None:
    live = await _serving_catalogue(store, instance)
    await store.put("catalogue", CATALOGUE.replace("/catalogue/v1", "/catalogue/v2"), OPENAPI, at=AT)
    assert await live.sync()
    assert live.find("/catalogue/v1/products") is None
    assert live.find("/catalogue/v2/products") is not None


async def test_no_text_is_fetched_while_no_version_changed(
    store: CountingStore, instance: Callable[[str], PublishedApis]
) -> None:
    live = await _serving_catalogue(store, instance)
    fetched = store.loads
    assert not await live.sync()
    assert store.loads == fetched


async def test_a_stored_api_that_does_not_load_leaves_the_live_set_live(
    store: PublishedApiStore, instance: Callable[[str], PublishedApis], caplog: pytest.LogCaptureFixture
) -> None:
    live = await _serving_catalogue(store, instance)
    broken = CATALOGUE.replace("ReadProducts", "ReadProdcts")  # as if written past the publishing checks
    await store.put("catalogue", broken, OPENAPI, at=AT)
    with caplog.at_level(logging.ERROR, logger="walletgate.publishing"):
        assert not await live.sync()
    assert "unknown permission 'ReadProdcts'" in caplog.text
    assert live.find("/catalogue/v1/products") is not None


async def test_syncs_at_once_take_turns_and_fetch_the_texts_once(
    store: CountingStore, instance: Callable[[str], PublishedApis]
) -> None:
    live = instance("one")
    await store.put("catalogue", CATALOGUE, OPENAPI, at=AT)
    changed = await asyncio.gather(live.sync(), live.sync())
    assert sorted(changed) == [False, True]
    assert store.loads == 1


async def test_an_api_withdrawn_from_the_store_stops_being_served(
    store: PublishedApiStore, instance: Callable[[str], PublishedApis]
) -> None:
    live = await _serving_catalogue(store, instance)
    await store.delete("catalogue")
    assert await live.sync()
    assert live.find("/catalogue/v1/products") is None
    assert set(live.apis) == set(POLICIES.apis)


class FlakyStore(CountingStore):
    """The real store, unreachable while ``down`` is set."""

    down = True

    async def versions(self) -> dict[str, str]:
        if self.down:
            raise ConnectionError("the database is down")
        return await super().versions()


async def test_a_failing_poll_is_logged_once_and_its_end_once(
    store: CountingStore, settings_factory: Callable[..., Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FlakyStore(store.engine)
    live = PublishedApis(
        settings_factory(data_dir=tmp_path / "one"),
        POLICIES.apis,
        POLICIES.permissions,
        store=flaky,
        poll_interval=0.01,
    )
    with caplog.at_level(logging.INFO, logger="walletgate.publishing"):
        await live.start()
        await asyncio.sleep(0.15)
        flaky.down = False
        await asyncio.sleep(0.1)
        await live.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "walletgate.publishing"]
    assert sum("polling the published APIs failed" in m for m in messages) == 1
    assert messages.count("polling the published APIs works again") == 1
    assert all(r.exc_info is None for r in caplog.records)  # a database that is away is one line, no traceback
