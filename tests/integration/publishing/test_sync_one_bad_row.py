"""One stored API that does not load (written past the publishing checks, or stored before the
policy set or the gateway's checks changed) costs only itself: every other stored API is served."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.published_store import PublishedApiStore
from gateway.publishing import PublishedApis
from tests.integration.pipeline.conftest import OPENAPI, POLICY
from tests.integration.publishing.conftest import POLICIES

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CATALOGUE = POLICY.format(upstream="http://127.0.0.1:9")
BROKEN = (
    CATALOGUE.replace("name: catalogue", "name: broken")
    .replace("/catalogue/v1", "/broken/v1")
    .replace("ReadProducts", "ReadProdcts")  # as if the permission was removed from permissions.yaml since
)
OTHER = CATALOGUE.replace("name: catalogue", "name: other").replace("/catalogue/v1", "/other/v1")


async def test_an_instance_that_starts_serves_the_stored_apis_beside_one_that_does_not_load(
    store: PublishedApiStore, instance: Callable[[str], PublishedApis], caplog: pytest.LogCaptureFixture
) -> None:
    await store.put("catalogue", CATALOGUE, OPENAPI, at=AT)
    await store.put("broken", BROKEN, OPENAPI, at=AT)
    fresh = instance("fresh")
    with caplog.at_level(logging.ERROR, logger="walletgate.publishing"):
        assert await fresh.sync()
    assert fresh.find("/catalogue/v1/products") is not None
    assert fresh.find("/broken/v1/products") is None
    assert "published API broken not reloaded; it is not served" in caplog.text
    assert "unknown permission 'ReadProdcts'" in caplog.text


async def test_an_api_published_after_one_that_does_not_load_is_served(
    store: PublishedApiStore, instance: Callable[[str], PublishedApis]
) -> None:
    live = instance("one")
    await store.put("broken", BROKEN, OPENAPI, at=AT)
    await live.sync()
    await store.put("other", OTHER, OPENAPI, at=AT)
    assert await live.sync()
    assert live.find("/other/v1/products") is not None


async def test_a_stored_api_that_no_longer_loads_keeps_its_live_version_beside_a_new_one(
    store: PublishedApiStore, instance: Callable[[str], PublishedApis]
) -> None:
    live = instance("one")
    await store.put("catalogue", CATALOGUE, OPENAPI, at=AT)
    await live.sync()
    await store.put("catalogue", CATALOGUE.replace("ReadProducts", "ReadProdcts"), OPENAPI, at=AT)
    await store.put("other", OTHER, OPENAPI, at=AT)
    assert await live.sync()
    assert live.find("/other/v1/products") is not None
    served = live.find("/catalogue/v1/products")
    assert served is not None
    assert served[0].operations["ListProducts"].permissions.all_of == {"ReadProducts"}


async def test_stored_apis_that_clash_leave_the_live_set_live(
    store: PublishedApiStore, instance: Callable[[str], PublishedApis]
) -> None:
    live = instance("one")
    await store.put("catalogue", CATALOGUE, OPENAPI, at=AT)
    await live.sync()
    await store.put("twin", CATALOGUE.replace("name: catalogue", "name: twin"), OPENAPI, at=AT)  # past the checks
    assert not await live.sync()
    assert set(live.apis) == {*POLICIES.apis, "catalogue"}


async def test_a_stored_api_naming_a_limit_rule_the_policies_do_not_define_is_not_served(
    settings_factory: Callable[..., Any], store: PublishedApiStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Stored under a limits.yaml that defined the rule: served now, the operation would be unlimited.
    unlimited = CATALOGUE.replace("scopes: [accounts]", "scopes: [accounts]\n    limits: [retired-rule]")
    await store.put("catalogue", unlimited, OPENAPI, at=AT)
    await store.put("other", OTHER, OPENAPI, at=AT)
    settings = settings_factory(data_dir=tmp_path / "fresh")
    fresh = PublishedApis(settings, POLICIES.apis, POLICIES.permissions, store=store, policies=POLICIES)
    with caplog.at_level(logging.ERROR, logger="walletgate.publishing"):
        assert await fresh.sync()
    assert fresh.find("/catalogue/v1/products") is None
    assert fresh.find("/other/v1/products") is not None
    assert "unknown limit rule 'retired-rule'" in caplog.text
