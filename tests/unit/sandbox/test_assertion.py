"""The gateway → bank assertion as minted by gateway/assertion.py."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from gateway.assertion import ASSERTION_HEADER, TYP, mint_assertion
from gateway.oauth.keys import KeyRing, generate_jwk

ISSUER = "http://127.0.0.1:8000"
AUDIENCE = "http://127.0.0.1:8100"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def keys() -> KeyRing:
    return KeyRing.from_jwks({"keys": [generate_jwk("ES256") | {"use_state": "current"}]})


def _mint(keys: KeyRing, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "user_id": "alice",
        "client_id": "wallet-1",
        "consent_id": "c-1",
        "accounts": ["acc-alice-current"],
        "permissions": ["ReadBalances", "ReadAccountsBasic", "ReadBalances"],
        "purposes": ["aggregation"],
        "interaction_id": "3f1c9e0e-7f42-4d55-9d38-0d7a1c2f4b11",
        "now": NOW,
    }
    return mint_assertion(keys, **(args | overrides))


def test_assertion_header_and_typ_match_the_contract() -> None:
    assert ASSERTION_HEADER == "x-walletgate-assertion"
    assert TYP == "wg-assertion+jwt"


def test_mint_assertion_carries_every_contract_claim(keys: KeyRing) -> None:
    token = _mint(keys)
    assert jwt.get_unverified_header(token)["typ"] == TYP
    claims = keys.verify(token, typ=TYP, audience=AUDIENCE, issuer=ISSUER, leeway=10**10)
    assert claims["sub"] == "alice"
    assert claims["client_id"] == "wallet-1"
    assert claims["consent_id"] == "c-1"
    assert claims["accounts"] == ["acc-alice-current"]
    assert claims["permissions"] == ["ReadAccountsBasic", "ReadBalances"]
    assert claims["purposes"] == ["aggregation"]
    assert claims["interaction_id"] == "3f1c9e0e-7f42-4d55-9d38-0d7a1c2f4b11"
    assert claims["iat"] == int(NOW)
    assert claims["exp"] == int(NOW) + 60
    assert len(claims["jti"]) == 32


def test_mint_assertion_gives_each_call_a_fresh_jti(keys: KeyRing) -> None:
    first = jwt.decode(_mint(keys), options={"verify_signature": False})
    second = jwt.decode(_mint(keys), options={"verify_signature": False})
    assert first["jti"] != second["jti"]


def test_mint_assertion_allows_all_accounts_without_consent(keys: KeyRing) -> None:
    claims = jwt.decode(_mint(keys, consent_id=None, accounts=["*"]), options={"verify_signature": False})
    assert claims["consent_id"] is None
    assert claims["accounts"] == ["*"]


def test_mint_assertion_refuses_all_accounts_under_a_consent(keys: KeyRing) -> None:
    with pytest.raises(ValueError, match=r"allowed only for the account-selection call"):
        _mint(keys, consent_id="c-1", accounts=["*"])


def test_mint_assertion_refuses_wildcard_mixed_with_accounts(keys: KeyRing) -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        _mint(keys, consent_id=None, accounts=["*", "acc-alice-current"])


def test_mint_assertion_refuses_a_string_for_accounts(keys: KeyRing) -> None:
    with pytest.raises(ValueError, match="not a string"):
        _mint(keys, accounts="acc-alice-current")


@pytest.mark.parametrize("lifetime", [0, 61])
def test_mint_assertion_refuses_lifetime_outside_one_minute(keys: KeyRing, lifetime: int) -> None:
    with pytest.raises(ValueError, match="lifetime must be between 1 and 60"):
        _mint(keys, lifetime=lifetime)


def test_mint_assertion_refuses_missing_user(keys: KeyRing) -> None:
    with pytest.raises(ValueError, match="user_id is required"):
        _mint(keys, user_id="")
