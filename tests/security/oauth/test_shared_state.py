"""With Redis configured, one-time values and revocations are shared by every replica."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.oauth.replay import RedisReplayCache
from tests.security.oauth.conftest import refused
from tests.unit.oauth.harness import Gateway, running_gateway

CC = {"grant_type": "client_credentials"}


@pytest.fixture
def shared(tmp_path, settings_factory, redis_url) -> Iterator[Gateway]:
    yield from running_gateway(tmp_path, settings_factory, redis_url=redis_url)


def test_replays_are_caught_through_redis(shared):
    assert isinstance(shared.services.replay, RedisReplayCache)
    wallet = shared.register()
    proof, assertion = wallet.proof("POST", "/token"), wallet.assertion()
    auth = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    first = shared.http.post("/token", data=CC | auth | {"client_assertion": assertion}, headers={"DPoP": proof})
    assert first.status_code == 200, first.text
    again = shared.http.post("/token", data=CC | wallet.auth(), headers={"DPoP": proof})
    refused(again, 400, "invalid_dpop_proof", "was already used with this key")
    replayed = shared.http.post(
        "/token", data=CC | auth | {"client_assertion": assertion}, headers={"DPoP": wallet.proof("POST", "/token")}
    )
    refused(replayed, 401, "invalid_client", "client_assertion jti was already used")


def test_revoked_token_is_published_in_redis(shared):
    wallet = shared.register()
    token = wallet.redeem(wallet.code()).json()["access_token"]
    assert wallet.post("/revoke", {"token": token}, dpop=None).status_code == 200
    members = shared.run(shared.services.redis.zrange, "wg:revoked-jti", 0, -1)
    assert len(members) == 1
