"""The bank refuses every request the gateway does not vouch for, saying why (401, OBErrorResponse1)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from jwt.utils import base64url_encode
from starlette.testclient import TestClient

from gateway.oauth.keys import KeyRing
from sandbox.app import BankConfig, create_app
from sandbox.trust import FileKeys, ReplayCache, UrlKeys
from tests.unit.sandbox.official import ResponseSchemas
from tests.unit.sandbox.support import ANCHOR, AUDIENCE, BASE, ISSUER, assertion, headers, new_keyring, write_jwks

URL = f"{BASE}/accounts"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "sub": "alice",
        "client_id": "wallet-test",
        "consent_id": None,
        "accounts": ["*"],
        "permissions": ["ReadAccountsDetail"],
        "purposes": ["aggregation"],
        "interaction_id": str(uuid.uuid4()),
    }
    return claims | overrides


def _refused(client: TestClient, token: str | None, official_schemas: ResponseSchemas) -> str:
    response = client.get(URL, headers=headers(token) if token is not None else {})
    assert response.status_code == 401, response.text
    body = response.json()
    assert official_schemas.errors_for_ref("#/components/schemas/OBErrorResponse1", body) == []
    assert body["Errors"][0]["ErrorCode"] == "U006"
    assert body["Errors"][0]["Path"] == "x-walletgate-assertion"
    return str(body["Errors"][0]["Message"])


def test_bank_accepts_a_valid_assertion(client: TestClient, keys: KeyRing) -> None:
    assert client.get(URL, headers=headers(assertion(keys))).status_code == 200


def test_bank_refuses_missing_assertion(client: TestClient, official_schemas: ResponseSchemas) -> None:
    assert _refused(client, None, official_schemas) == "the x-walletgate-assertion header is missing"


def test_bank_refuses_garbage_assertion(client: TestClient, official_schemas: ResponseSchemas) -> None:
    assert _refused(client, "not-a-jwt", official_schemas) == "the assertion is not a well-formed JWT"


def test_bank_refuses_expired_assertion(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    token = assertion(keys, now=time.time() - 120)
    assert _refused(client, token, official_schemas) == "the assertion has expired"


def test_bank_refuses_assertion_issued_in_the_future(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    token = assertion(keys, now=time.time() + 120)
    assert _refused(client, token, official_schemas) == "the assertion is not valid yet (iat or nbf in the future)"


def test_bank_refuses_bad_signature(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    forger = new_keyring()
    token = jwt.encode(_claims(), forger.current.private, "ES256", {"kid": keys.current.kid, "typ": "wg-assertion+jwt"})
    assert _refused(client, token, official_schemas) == "the assertion's signature does not verify"


def test_bank_refuses_tampered_claims(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    header, _, signature = assertion(keys, "bob").split(".")
    forged_payload = base64url_encode(json.dumps(_claims()).encode()).decode()
    token = f"{header}.{forged_payload}.{signature}"
    assert _refused(client, token, official_schemas) == "the assertion's signature does not verify"


def test_bank_refuses_alg_none(client: TestClient, official_schemas: ResponseSchemas) -> None:
    token = jwt.encode(_claims(), "", "none", {"typ": "wg-assertion+jwt"})
    assert _refused(client, token, official_schemas) == "the assertion's alg 'none' is not one of ES256, EdDSA, PS256"


def test_bank_refuses_symmetric_alg(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    token = jwt.encode(
        _claims(), "a-shared-secret-that-is-long-enough!", "HS256", {"kid": keys.current.kid, "typ": "wg-assertion+jwt"}
    )
    assert _refused(client, token, official_schemas) == "the assertion's alg 'HS256' is not one of ES256, EdDSA, PS256"


def test_bank_refuses_wrong_typ(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    token = keys.sign(_claims(), typ="at+jwt")
    assert _refused(client, token, official_schemas) == "the assertion's typ must be wg-assertion+jwt"


def test_bank_refuses_unknown_kid(client: TestClient, official_schemas: ResponseSchemas) -> None:
    token = assertion(new_keyring())
    assert _refused(client, token, official_schemas) == "the assertion's kid is not in the gateway's JWKS"


def test_bank_refuses_wrong_audience(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    token = assertion(keys, audience="http://another-bank.test")
    assert _refused(client, token, official_schemas) == "the assertion's aud is not this bank"


def test_bank_refuses_wrong_issuer(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    token = assertion(keys, issuer="http://evil.test")
    assert _refused(client, token, official_schemas) == "the assertion's iss is not the trusted gateway"


def test_bank_refuses_replayed_jti(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    token = assertion(keys)
    assert client.get(URL, headers=headers(token)).status_code == 200
    assert _refused(client, token, official_schemas) == "the assertion has been used before (jti replayed)"


def test_bank_refuses_long_lived_assertion(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    claims = _claims()
    token = keys.sign(claims | {"exp": claims["iat"] + 300}, typ="wg-assertion+jwt")
    assert _refused(client, token, official_schemas) == "the assertion lives longer than 60 s"


def test_bank_refuses_assertion_without_exp(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    claims = _claims()
    del claims["exp"]
    token = keys.sign(claims, typ="wg-assertion+jwt")
    assert _refused(client, token, official_schemas) == "the assertion lacks a required claim"


def test_bank_refuses_all_accounts_under_a_consent(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    token = keys.sign(_claims(consent_id="consent-1"), typ="wg-assertion+jwt")
    assert _refused(client, token, official_schemas) == 'accounts ["*"] is only allowed alone and without a consent_id'


def test_bank_refuses_malformed_accounts_claim(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    token = keys.sign(_claims(accounts="acc-alice-current"), typ="wg-assertion+jwt")
    assert _refused(client, token, official_schemas) == "the assertion's accounts must be a list of strings"


def test_bank_refuses_an_alg_other_than_its_keys(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    _, payload, signature = assertion(keys).split(".")
    header = {"alg": "PS256", "kid": keys.current.kid, "typ": "wg-assertion+jwt"}  # the key is ES256
    token = f"{base64url_encode(json.dumps(header).encode()).decode()}.{payload}.{signature}"
    assert _refused(client, token, official_schemas) == "the assertion's alg does not match its key"


def test_bank_refuses_an_empty_sub(client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas) -> None:
    token = keys.sign(_claims(sub=""), typ="wg-assertion+jwt")
    assert _refused(client, token, official_schemas) == "the assertion's sub must name a user"


def test_bank_refuses_a_consent_id_that_is_not_a_string(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    token = keys.sign(_claims(consent_id=7, accounts=["acc-alice-current"]), typ="wg-assertion+jwt")
    assert _refused(client, token, official_schemas) == "the assertion's consent_id must be a string or null"


def _not_found_body(client: TestClient, token: str, account_id: str) -> dict[str, Any]:
    response = client.get(f"{BASE}/accounts/{account_id}/balances", headers=headers(token))
    assert response.status_code == 404
    body: dict[str, Any] = response.json()
    body.pop("Id")
    body["Errors"][0]["Message"] = body["Errors"][0]["Message"].replace(account_id, "ID")
    body["Message"] = body["Message"].replace(account_id, "ID")
    return body


def test_bank_hides_another_users_account_like_an_unknown_one(client: TestClient, keys: KeyRing) -> None:
    other = _not_found_body(client, assertion(keys, "alice"), "acc-bob-current")
    unknown = _not_found_body(client, assertion(keys, "alice"), "acc-nobody")
    assert other == unknown
    assert other["Errors"][0] == {"ErrorCode": "U011", "Message": "no account 'ID'", "Path": "AccountId"}


def test_bank_hides_an_account_the_assertion_does_not_list(client: TestClient, keys: KeyRing) -> None:
    token = assertion(keys, "alice", ["acc-alice-current"])
    unlisted = _not_found_body(client, token, "acc-alice-savings")
    assert unlisted["Errors"][0]["ErrorCode"] == "U011"
    listed = client.get(
        f"{BASE}/accounts/acc-alice-current", headers=headers(assertion(keys, "alice", ["acc-alice-current"]))
    )
    assert listed.status_code == 200


def test_bank_lists_only_the_accounts_the_assertion_names(client: TestClient, keys: KeyRing) -> None:
    token = assertion(keys, "alice", ["acc-alice-card", "acc-bob-current"])
    body = client.get(URL, headers=headers(token)).json()
    assert [a["AccountId"] for a in body["Data"]["Account"]] == ["acc-alice-card"]


class _JwksServer:
    """A JWKS endpoint on a loopback port whose key set (and Cache-Control) the test changes."""

    def __init__(self, port: int, *rings: KeyRing, cache_control: str | None = None) -> None:
        self.url = f"http://127.0.0.1:{port}/jwks"
        self.port, self.rings, self.cache_control, self.fetches = port, list(rings), cache_control, 0
        self._runner: web.AppRunner | None = None

    async def _jwks(self, _: web.Request) -> web.Response:
        self.fetches += 1
        headers = {"Cache-Control": self.cache_control} if self.cache_control else None
        return web.json_response({"keys": [k for r in self.rings for k in r.jwks()["keys"]]}, headers=headers)

    async def __aenter__(self) -> _JwksServer:
        app = web.Application()
        app.router.add_get("/jwks", self._jwks)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def test_url_keys_refetch_for_unknown_kids_at_most_every_30_seconds(port: int) -> None:
    keys = new_keyring()
    async with _JwksServer(port, keys) as server:
        now = [1000.0]
        source = UrlKeys(server.url, clock=lambda: now[0])
        assert await source.key("unknown") is None
        now[0] += 29
        assert await source.key("unknown") is None
        assert await source.key(keys.current.kid) is not None
        assert server.fetches == 1
        now[0] += 2
        assert await source.key("unknown") is None
        assert server.fetches == 2


async def test_url_keys_fetch_a_rotated_in_kid_a_second_after_a_fetch_that_found_its_kid(port: int) -> None:
    old, new = new_keyring(), new_keyring()
    async with _JwksServer(port, old) as server:
        now = [1000.0]
        source = UrlKeys(server.url, clock=lambda: now[0])
        assert await source.key(old.current.kid) is not None
        server.rings.append(new)
        now[0] += 1
        assert await source.key(new.current.kid) is not None


async def test_url_keys_stop_trusting_a_dropped_key_once_the_cached_set_is_older_than_its_max_age(
    port: int,
) -> None:
    old, new = new_keyring(), new_keyring()
    async with _JwksServer(port, old, cache_control="public, max-age=60") as server:
        now = [1000.0]
        source = UrlKeys(server.url, clock=lambda: now[0])
        assert await source.key(old.current.kid) is not None
        server.rings = [new]
        now[0] += 59
        assert await source.key(old.current.kid) is not None
        now[0] += 1
        assert await source.key(old.current.kid) is None
        assert server.fetches == 2


async def test_url_keys_retry_soon_after_a_failed_fetch(port: int) -> None:
    now = [1000.0]
    source = UrlKeys(f"http://127.0.0.1:{port}/jwks", clock=lambda: now[0])
    assert await source.key("any") is None  # nothing listens yet
    keys = new_keyring()

    async def jwks(_: web.Request) -> web.Response:
        return web.json_response(keys.jwks())

    app = web.Application()
    app.router.add_get("/jwks", jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        assert await source.key(keys.current.kid) is None  # still inside the one-second back-off
        now[0] += 1
        assert await source.key(keys.current.kid) is not None
    finally:
        await runner.cleanup()


async def test_file_keys_pick_up_a_rotated_key(tmp_path: Path) -> None:
    first, second = new_keyring(), new_keyring("EdDSA")
    path = write_jwks(first, tmp_path / "rotating.json")
    source = FileKeys(path)
    assert await source.key(second.current.kid) is None
    path.write_text(json.dumps({"keys": first.jwks()["keys"] + second.jwks()["keys"]}), encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    assert await source.key(second.current.kid) is not None


@pytest.mark.parametrize("alg", ["PS256", "EdDSA"])
def test_bank_accepts_other_asymmetric_algorithms(tmp_path: Path, alg: str) -> None:
    ring = new_keyring(alg)
    app = create_app(BankConfig(ISSUER, AUDIENCE, ANCHOR), FileKeys(write_jwks(ring, tmp_path / "k.json")))
    with TestClient(app, base_url=AUDIENCE) as test_client:
        assert test_client.get(URL, headers=headers(assertion(ring))).status_code == 200


def test_replay_cache_forgets_a_jti_once_its_assertion_has_expired() -> None:
    cache = ReplayCache()
    assert cache.first_use("a", expires_at=100.0, now=50.0)
    assert not cache.first_use("a", expires_at=100.0, now=104.0)
    assert cache.first_use("b", expires_at=200.0, now=106.0)
    assert len(cache) == 1
    assert cache.first_use("a", expires_at=100.0, now=106.0)  # refused later anyway: that assertion is expired


def test_file_keys_accept_the_gateways_private_key_file(tmp_path: Path) -> None:
    ring = KeyRing.load_or_create(tmp_path / "signing.jwks.json")
    app = create_app(BankConfig(ISSUER, AUDIENCE, ANCHOR), FileKeys(tmp_path / "signing.jwks.json"))
    with TestClient(app, base_url=AUDIENCE) as test_client:
        assert test_client.get(URL, headers=headers(assertion(ring))).status_code == 200
