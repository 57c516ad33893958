"""An API published through one replica is served by every replica, each with a data folder of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.integration.pipeline.conftest import OPENAPI, POLICY
from tests.integration.replicas.cluster import NGINX, Cluster, start_cluster

pytestmark = [pytest.mark.integration, pytest.mark.skipif(NGINX is None, reason="Debian's nginx is not installed")]

ADMIN = {"Authorization": "Bearer replica-admin-token"}
PRODUCTS = "/catalogue/v1/products"


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Cluster]:
    running = start_cluster(
        tmp_path,
        postgres_url,
        redis_url,
        own_data_folders=True,
        extra_env={"WALLETGATE_ADMIN_TOKEN": "replica-admin-token"},
    )
    try:
        yield running
    finally:
        running.stop()


def _served_everywhere(urls: list[str], seconds: float) -> list[int]:
    """Each replica's status for the new API's path once all serve it, or when time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        statuses = [httpx.get(url + PRODUCTS, timeout=5).status_code for url in urls]
        if all(status != 404 for status in statuses) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.2)


def test_an_api_published_through_one_replica_is_served_by_all_within_seconds(cluster: Cluster) -> None:
    urls = cluster.replica_urls
    assert [httpx.get(url + PRODUCTS, timeout=5).status_code for url in urls] == [404, 404, 404]
    body = {"policy": POLICY.format(upstream=cluster.stack.bank_url), "openapi": OPENAPI}
    published = httpx.put(urls[0] + "/admin/apis/catalogue", json=body, headers=ADMIN, timeout=10)
    assert published.status_code == 200, published.text
    assert _served_everywhere(urls, 5) == [401, 401, 401]  # routed: the pipeline now asks for a token
    for url in urls:
        names = [api["name"] for api in httpx.get(url + "/admin/apis", headers=ADMIN, timeout=5).json()["apis"]]
        assert "catalogue" in names
