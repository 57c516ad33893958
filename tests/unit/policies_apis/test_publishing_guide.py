"""docs/publishing.md stays true: its files pass `walletgate apis check` as shown, and its
assertion-verification code accepts the gateway's assertions and refuses what it should."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.assertion import mint_assertion
from gateway.cli import main
from gateway.oauth.keys import KeyRing, new_key_set, write_private_file
from tests.support.servers import ROOT, served_in_thread

GUIDE = (ROOT / "docs" / "publishing.md").read_text(encoding="utf-8")
ISSUER, AUDIENCE = "https://gateway.example", "https://offers.bank.internal"
Verify = Callable[..., dict[str, Any]]


def _files() -> dict[str, str]:
    """The guide's YAML blocks, by the name on their first line (``# file: NAME``)."""
    blocks = re.findall(r"```yaml\n# file: (\S+)\n(.*?)```", GUIDE, flags=re.DOTALL)
    return {name: text for name, text in blocks}


def test_the_guides_policy_and_document_pass_the_check_as_the_guide_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files()
    assert set(files) == {"offers.openapi.yaml", "offers.yaml"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert main(["apis", "check", str(tmp_path / "offers.openapi.yaml"), str(tmp_path / "offers.yaml")]) == 0
    shown = re.search(r"walletgate apis check offers.openapi.yaml offers.yaml\n# (.*)\n", GUIDE)
    assert shown is not None
    assert capsys.readouterr().out.strip() == shown.group(1)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    path = tmp_path_factory.mktemp("keys") / "signing.jwks.json"
    write_private_file(path, new_key_set())
    return KeyRing.load(path)


@pytest.fixture(scope="module")
def jwks_url(keys: KeyRing) -> Iterator[str]:
    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse(keys.jwks())

    with served_in_thread(Starlette(routes=[Route("/jwks", jwks)])) as url:
        yield url + "/jwks"


@pytest.fixture(scope="module")
def verify_assertion() -> Verify:
    code = re.search(r"```python\n(.*?)```", GUIDE, flags=re.DOTALL)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "docs/publishing.md", "exec"), namespace)  # noqa: S102 - the guide's own code
    verify: Verify = namespace["verify_assertion"]
    return verify


def _assertion(keys: KeyRing, **changes: Any) -> str:
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "user_id": "alice",
        "client_id": "wallet-1",
        "consent_id": "c-1",
        "accounts": ["acc-alice-current"],
        "permissions": ["ReadOffers"],
        "purposes": ["aggregation"],
        "interaction_id": "5c1b4b8e-2f0e-4f51-9a57-0d5f2c7f9a11",
        "now": time.time(),
    }
    return mint_assertion(keys, **(fields | changes))


def test_the_guides_verification_accepts_the_gateways_assertion(
    keys: KeyRing, jwks_url: str, verify_assertion: Verify
) -> None:
    claims = verify_assertion(_assertion(keys), issuer=ISSUER, audience=AUDIENCE, jwks=jwt.PyJWKClient(jwks_url))
    assert (claims["sub"], claims["accounts"], claims["consent_id"]) == ("alice", ["acc-alice-current"], "c-1")


def test_the_guides_verification_refuses_an_assertion_for_another_bank(
    keys: KeyRing, jwks_url: str, verify_assertion: Verify
) -> None:
    token = _assertion(keys, audience="https://other-bank.internal")
    with pytest.raises(jwt.InvalidAudienceError):
        verify_assertion(token, issuer=ISSUER, audience=AUDIENCE, jwks=jwt.PyJWKClient(jwks_url))


def test_the_guides_verification_refuses_an_expired_assertion(
    keys: KeyRing, jwks_url: str, verify_assertion: Verify
) -> None:
    token = _assertion(keys, now=time.time() - 120)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_assertion(token, issuer=ISSUER, audience=AUDIENCE, jwks=jwt.PyJWKClient(jwks_url))


def test_the_guides_verification_refuses_another_token_type_signed_by_the_gateway(
    keys: KeyRing, jwks_url: str, verify_assertion: Verify
) -> None:
    claims = jwt.decode(_assertion(keys), options={"verify_signature": False})
    access_token = keys.sign(claims, typ="at+jwt")  # e.g. an access token the bank was handed
    with pytest.raises(jwt.InvalidTokenError, match="not a WalletGate assertion"):
        verify_assertion(access_token, issuer=ISSUER, audience=AUDIENCE, jwks=jwt.PyJWKClient(jwks_url))


def test_the_guides_verification_refuses_a_key_the_gateway_does_not_publish(
    jwks_url: str, verify_assertion: Verify, tmp_path: Path
) -> None:
    write_private_file(tmp_path / "other.jwks.json", new_key_set())
    token = _assertion(KeyRing.load(tmp_path / "other.jwks.json"))
    with pytest.raises(jwt.PyJWTError):
        verify_assertion(token, issuer=ISSUER, audience=AUDIENCE, jwks=jwt.PyJWKClient(jwks_url))
