"""ID tokens are signed in the algorithm the client registered, when the gateway holds a current key of it."""

from __future__ import annotations

import logging
from typing import Any

import jwt
import pytest

from gateway.oauth.keys import KeyRing, new_key_set
from gateway.oauth.tokens import TokenService


def _tokens(keys: KeyRing, settings_factory: Any) -> TokenService:
    return TokenService(settings_factory(issuer="https://gw.example"), keys, store=None, clock=lambda: 1_790_000_000.0)  # type: ignore[arg-type]


def _id_token_alg(tokens: TokenService, alg: str) -> str:
    token = tokens.id_token(client_id="w", user_id="alice", nonce=None, auth_time=0, access_token="at", alg=alg)
    return str(jwt.get_unverified_header(token)["alg"])


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_the_id_token_is_signed_in_the_algorithm_the_client_registered(settings_factory: Any, alg: str) -> None:
    assert _id_token_alg(_tokens(KeyRing.from_jwks(new_key_set()), settings_factory), alg) == alg


def test_without_a_key_of_the_registered_algorithm_the_default_key_signs_and_says_so(
    settings_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = _tokens(KeyRing.from_jwks(new_key_set(("ES256",))), settings_factory)
    with caplog.at_level(logging.WARNING, logger="walletgate.oauth"):
        assert _id_token_alg(tokens, "PS256") == "ES256"
    assert "client w registered ID tokens in PS256, but no current signing key is PS256" in caplog.text
