"""Server-issued DPoP nonces (RFC 9449 §8) when ``dpop_nonce_required`` is on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.clock import FrozenClock
from gateway.oauth.dpop_nonce import LIFETIME, DPoPNonces
from gateway.oauth.keys import KeyRing, generate_jwk
from tests.security.oauth.conftest import refused
from tests.unit.oauth.harness import Gateway, running_gateway

CC = {"grant_type": "client_credentials"}


@pytest.fixture
def strict(tmp_path, settings_factory) -> Iterator[Gateway]:
    yield from running_gateway(tmp_path, settings_factory, dpop_nonce_required=True)


def test_token_endpoint_asks_for_a_nonce_then_accepts_it(strict):
    wallet = strict.register()
    first = wallet.post("/token", CC)
    refused(first, 400, "use_dpop_nonce", "the nonce claim is missing")
    nonce = first.headers["dpop-nonce"]
    second = wallet.post("/token", CC, dpop=wallet.proof("POST", "/token", nonce=nonce))
    assert second.status_code == 200, second.text
    assert second.headers["dpop-nonce"]


def test_forged_nonce_is_refused(strict):
    wallet = strict.register()
    response = wallet.post("/token", CC, dpop=wallet.proof("POST", "/token", nonce="made-up"))
    refused(response, 400, "use_dpop_nonce", "is not a current server nonce")


def test_nonce_expires_and_any_replica_accepts_a_fresh_one():
    clock = FrozenClock()
    keys = KeyRing.from_jwks({"keys": [generate_jwk("ES256") | {"use_state": "current"}]})
    one, two = DPoPNonces(keys, clock), DPoPNonces(keys, clock)
    nonce = one.current()
    assert two.valid(nonce)
    clock.advance(LIFETIME + 31)
    assert not two.valid(nonce)
    assert one.valid(two.current())


def test_code_survives_the_nonce_challenge_at_the_token_endpoint(strict):
    # RFC 9449 §8: the first /token request may lack the nonce; the retry with it must still redeem the code.
    wallet = strict.register()
    consent_id = strict.consent(wallet.client_id)
    code = wallet.approve(wallet.request_uri(consent_id))
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": wallet.redirect_uri}
    form["code_verifier"] = "v" * 43
    first = wallet.post("/token", form)
    refused(first, 400, "use_dpop_nonce", "the nonce claim is missing")
    nonce = first.headers["dpop-nonce"]
    second = wallet.post("/token", form, dpop=wallet.proof("POST", "/token", nonce=nonce))
    assert second.status_code == 200, second.text
