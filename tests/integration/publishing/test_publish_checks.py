"""What ``publish`` refuses before a row is written: a base path that is the gateway's own, or that
lies under or over another API's, and operations naming purposes or limit rules that do not exist."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.app import _gateway_routes
from gateway.published_store import PublishedApiStore, StoredApi
from gateway.publishing import GATEWAY_SEGMENTS, check_texts, publish
from policies import SHIPPED, load_policies
from policies.errors import PolicyError
from tests.integration.pipeline.conftest import OPENAPI, POLICY

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POLICIES = load_policies(SHIPPED)
CATALOGUE = POLICY.format(upstream="http://127.0.0.1:9")


def _policy(name: str = "catalogue", base_path: str = "/catalogue/v1") -> str:
    return CATALOGUE.replace("name: catalogue", f"name: {name}").replace("/catalogue/v1", base_path)


async def _publish(store: PublishedApiStore, policy: str) -> None:
    api = check_texts(None, policy, OPENAPI, POLICIES)
    await publish(store, api, policy, OPENAPI, POLICIES.apis, source="policy.yaml")


async def _refusal(store: PublishedApiStore, policy: str) -> str:
    before = await store.versions()
    with pytest.raises(PolicyError) as info:
        await _publish(store, policy)
    assert await store.versions() == before  # nothing written
    return str(info.value)


@pytest.mark.parametrize(
    "base_path", ["/token", "/authorize/v1", "/par", "/register", "/.well-known", "/admin", "/admin/apis/x", "/metrics",
                  "/healthz", "/jwks", "/userinfo", "/dashboard", "/api/me", "/static/v1", "/user"]
)  # fmt: skip
async def test_publish_refuses_a_base_path_in_the_gateways_own_namespace(
    store: PublishedApiStore, base_path: str
) -> None:
    segment = base_path.split("/")[1]
    message = await _refusal(store, _policy(base_path=base_path))
    assert f"policy.yaml: base_path '{base_path}' is in the gateway's own /{segment}" in message


def test_every_gateway_route_is_reserved_or_lies_under_a_shipped_api() -> None:
    shipped = [api.base_path for api in POLICIES.apis.values()]
    for route in _gateway_routes():
        path = str(getattr(route, "path", ""))
        under_shipped = any(path.startswith(base + "/") for base in shipped)
        assert path.split("/")[1] in GATEWAY_SEGMENTS or under_shipped, f"{path} is not reserved"


async def test_publish_refuses_a_base_path_under_a_shipped_apis(store: PublishedApiStore) -> None:
    message = await _refusal(store, _policy(base_path="/open-banking/v4.0/aisp/accounts"))
    assert "base_path '/open-banking/v4.0/aisp/accounts' lies under '/open-banking/v4.0/aisp', used by" in message


async def test_publish_refuses_a_base_path_that_contains_a_shipped_apis(store: PublishedApiStore) -> None:
    message = await _refusal(store, _policy(base_path="/open-banking"))
    assert "base_path '/open-banking' contains '/open-banking/v4.0/aisp', used by" in message


async def test_publish_refuses_a_base_path_under_a_published_apis(store: PublishedApiStore) -> None:
    await _publish(store, CATALOGUE)
    message = await _refusal(store, _policy("catalogue-products", "/catalogue/v1/products"))
    assert (
        "base_path '/catalogue/v1/products' lies under '/catalogue/v1', used by published-apis/catalogue/policy.yaml"
        in message
    )


async def test_publish_accepts_a_base_path_that_only_shares_a_prefix_of_a_segment(store: PublishedApiStore) -> None:
    await _publish(store, CATALOGUE)
    await _publish(store, _policy("catalogue-v10", "/catalogue/v10"))
    assert set(await store.versions()) == {"catalogue", "catalogue-v10"}


async def test_publish_lets_an_api_move_under_its_own_old_base_path(store: PublishedApiStore) -> None:
    await _publish(store, CATALOGUE)
    await _publish(store, _policy(base_path="/catalogue/v1/more"))
    assert set(await store.versions()) == {"catalogue"}


def test_check_refuses_an_unknown_limit_rule_naming_line_and_path() -> None:
    policy = CATALOGUE.replace("    scopes: [accounts]\n", "    scopes: [accounts]\n    limits: [bulk-raed]\n")
    with pytest.raises(PolicyError) as info:
        check_texts(None, policy, OPENAPI, POLICIES)
    assert "policy.yaml:11: operations.ListProducts.limits[0]: unknown limit rule 'bulk-raed'; defined: " in str(
        info.value
    )


def test_check_refuses_an_unknown_purpose_naming_line_and_path() -> None:
    policy = CATALOGUE.replace("    scopes: [accounts]\n", "    scopes: [accounts]\n    purposes: [aggregaton]\n")
    with pytest.raises(PolicyError) as info:
        check_texts(None, policy, OPENAPI, POLICIES)
    assert "policy.yaml:11: operations.ListProducts.purposes: unknown purpose 'aggregaton'; known: " in str(info.value)


def test_check_accepts_the_purposes_and_limit_rules_the_policies_define() -> None:
    policy = CATALOGUE.replace(
        "    scopes: [accounts]\n", "    scopes: [accounts]\n    purposes: [aggregation]\n    limits: [bulk-read]\n"
    )
    operation = check_texts(None, policy, OPENAPI, POLICIES).operations["ListProducts"]
    assert operation.limits == ("bulk-read",)
    assert operation.purposes == frozenset({"aggregation"})


class SlowStore(PublishedApiStore):
    """Takes a while between reading the stored APIs and answering: two publishes at once interleave."""

    async def load(self, names: Iterable[str] | None = None, *, conn: AsyncConnection | None = None) -> list[StoredApi]:
        stored = await super().load(names, conn=conn)
        await asyncio.sleep(0.05)
        return stored


async def test_two_publishes_of_overlapping_base_paths_at_once_store_one(store: PublishedApiStore) -> None:
    slow = SlowStore(store.engine)
    outcomes = await asyncio.gather(
        _publish(slow, _policy("one", "/shared/v1")),
        _publish(slow, _policy("two", "/shared/v1/deeper")),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, PolicyError)]
    assert len(refused) == 1, outcomes
    assert len(await store.versions()) == 1
