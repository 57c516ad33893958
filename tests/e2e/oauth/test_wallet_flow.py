"""A wallet built on authlib's client-side pieces completes the whole FAPI 2.0 flow against `walletgate demo`.

Only discovery tells the wallet where to go. authlib signs the client assertion (RFC 7523),
the DPoP proofs (its own JOSE code, not the server's pyjwt), makes the PKCE pair and the
key thumbprint (RFC 7638); aiohttp carries the HTTP, cookies included, and the user logs in
and approves through the real pages. Keys and JOSE come from joserfc, authlib's own JOSE library.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from tests.support.demo import Demo
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e

REDIRECT_URI = "http://127.0.0.1:9/callback"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SERVER_ALGS = ["ES256", "PS256", "EdDSA"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    demo = Demo(tmp_path_factory.mktemp("oauth-e2e")).start()
    yield demo.issuer, demo.data_dir
    demo.stop()


class AuthlibWallet:
    """The client: keys made and used with authlib, endpoints taken from discovery only."""

    def __init__(self, http: aiohttp.ClientSession, issuer: str, meta: AuthorizationServerMetadata) -> None:
        self.http, self.issuer, self.meta = http, issuer, meta
        self.key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex, "alg": "ES256", "use": "sig"})
        self.dpop_key = ECKey.generate_key("P-256")
        self.client_id = ""

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {"jti": generate_token(24), "htm": method, "htu": url, "iat": int(time.time())}
        if access_token is not None:
            claims["ath"] = create_s256_code_challenge(access_token)  # base64url(SHA-256), the same construction
        header = {"alg": "ES256", "typ": "dpop+jwt", "jwk": self.dpop_key.as_dict(private=False)}
        return jwt.encode(header, claims, self.dpop_key)

    def client_auth(self) -> dict[str, str]:
        # FAPI 2.0: the assertion's audience is the issuer identifier, so authlib is given the issuer.
        assertion = private_key_jwt_sign(
            self.key, self.client_id, self.issuer, alg="ES256", header={"kid": self.key.kid}, expires_in=60
        )
        text = assertion.decode() if isinstance(assertion, bytes) else assertion
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": text}

    async def read(self, access_token: str, path: str = "/accounts") -> tuple[int, Any]:
        """A bank resource (the account list by default) through the gateway's pipeline, with the token and a proof."""
        url = self.issuer + "/open-banking/v4.0/aisp" + path
        headers = {"Authorization": f"DPoP {access_token}", "DPoP": self.proof("GET", url, access_token)}
        async with self.http.get(url, headers=headers | {"x-fapi-customer-ip-address": "198.51.100.7"}) as response:
            return response.status, await response.json()

    async def post(self, endpoint: str, form: dict[str, str], dpop: bool = True) -> tuple[int, Any]:
        url = self.meta[endpoint]
        headers = {"DPoP": self.proof("POST", url)} if dpop else {}
        async with self.http.post(url, data=form | self.client_auth(), headers=headers) as response:
            return response.status, await response.json()


async def register(wallet: AuthlibWallet, data_dir: Path) -> None:
    jwks_file = data_dir / "wallet-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [wallet.key.as_dict(private=True)]}), encoding="utf-8")
    issued = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "directory", "issue-ssa", "--jwks", str(jwks_file),
         "--redirect-uri", REDIRECT_URI, "--name", "Authlib Wallet", "--data-dir", str(data_dir)],
        cwd=ROOT, capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin", "HOME": str(data_dir)},
    )  # fmt: skip
    statement = issued.stdout.strip().splitlines()[-1]
    body = {
        "software_statement": statement,
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "jwks": wallet.public_jwks(),
        "redirect_uris": [REDIRECT_URI],
    }
    async with wallet.http.post(wallet.meta["registration_endpoint"], json=body) as response:
        assert response.status == 201, await response.text()
        wallet.client_id = (await response.json())["client_id"]


async def create_consent(wallet: AuthlibWallet) -> str:
    status, tokens = await wallet.post("token_endpoint", {"grant_type": "client_credentials", "scope": "accounts"})
    assert status == 200, tokens
    assert tokens["token_type"] == "DPoP"
    url = wallet.issuer + "/open-banking/v4.0/aisp/account-access-consents"
    headers = {
        "Authorization": f"DPoP {tokens['access_token']}",
        "DPoP": wallet.proof("POST", url, tokens["access_token"]),
        "x-idempotency-key": uuid.uuid4().hex,
    }
    permissions = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits",
                   "ReadTransactionsDebits"]  # fmt: skip
    body = {"Data": {"Permissions": permissions}, "Risk": {}}
    async with wallet.http.post(url, json=body, headers=headers) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["Data"]["ConsentId"])


def _field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field in the page"
    return html.unescape(match.group(1))


async def log_in_and_approve(wallet: AuthlibWallet, authorize_url: str) -> dict[str, list[str]]:
    http = wallet.http
    async with http.get(authorize_url, allow_redirects=False) as response:
        assert response.status == 303
        login_path = response.headers["Location"]
    async with http.get(wallet.issuer + login_path) as response:
        login_page = await response.text()
    form = {
        "username": "alice",
        "password": "alice-demo",
        "csrf_token": _field(login_page, "csrf_token"),
        "next": _field(login_page, "next"),
    }
    async with http.post(wallet.issuer + "/login", data=form, allow_redirects=False) as response:
        assert response.status in (302, 303), await response.text()
        back = response.headers["Location"]
    async with http.get(back if back.startswith("http") else wallet.issuer + back) as response:
        assert response.status == 200, await response.text()
        screen = await response.text()
    assert "Authlib Wallet" in screen
    account = re.search(r'name="account_id" value="([^"]+)"', screen)
    assert account, "the screen lists no accounts"
    decision = aiohttp.FormData(
        [("request_uri", _field(screen, "request_uri")), ("csrf", _field(screen, "csrf")),
         ("decision", "approve"), ("account_id", account.group(1))]
    )  # fmt: skip
    async with http.post(wallet.issuer + "/authorize/decision", data=decision, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
        callback = response.headers["Location"]
    assert callback.startswith(REDIRECT_URI)
    return parse_qs(urlsplit(callback).query)


async def test_wallet_completes_registration_to_revocation_using_discovery_only(demo):
    issuer, data_dir = demo
    # Like a browser, keep Secure cookies from a loopback http origin.
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[issuer])
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(issuer + "/.well-known/openid-configuration") as response:
            meta = AuthorizationServerMetadata(await response.json())
        meta.validate_code_challenge_methods_supported()
        meta.validate_token_endpoint_auth_methods_supported()
        assert meta["require_pushed_authorization_requests"] is True
        wallet = AuthlibWallet(http, issuer, meta)
        await register(wallet, data_dir)
        consent_id = await create_consent(wallet)

        verifier = generate_token(64)
        status, pushed = await wallet.post(
            "pushed_authorization_request_endpoint",
            {
                "response_type": "code",
                "client_id": wallet.client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "openid accounts",
                "state": "s-42",
                "nonce": "n-42",
                "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256",
                "authorization_details": json.dumps([{"type": "account_access_consent", "consent_id": consent_id}]),
                "dpop_jkt": wallet.dpop_key.thumbprint(),
            },
            dpop=False,
        )
        assert status == 201, pushed
        query = await log_in_and_approve(
            wallet, f"{meta['authorization_endpoint']}?client_id={wallet.client_id}&request_uri={pushed['request_uri']}"
        )
        assert query["iss"] == [issuer]
        assert query["state"] == ["s-42"]

        form = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT_URI}
        status, tokens = await wallet.post("token_endpoint", form | {"code_verifier": verifier})
        assert status == 200, tokens
        async with http.get(meta["jwks_uri"]) as response:
            server_keys = KeySet.import_key_set(await response.json())
        claims = jwt.decode(tokens["access_token"], server_keys, algorithms=SERVER_ALGS).claims
        assert claims["consent_id"] == consent_id
        assert claims["cnf"] == {"jkt": wallet.dpop_key.thumbprint()}
        id_token = jwt.decode(tokens["id_token"], server_keys, algorithms=SERVER_ALGS).claims
        assert (id_token["nonce"], id_token["aud"]) == ("n-42", wallet.client_id)

        status, refreshed = await wallet.post(
            "token_endpoint", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        assert status == 200, refreshed
        status, info = await wallet.post("introspection_endpoint", {"token": refreshed["access_token"]}, dpop=False)
        assert (status, info["active"], info["consent_id"]) == (200, True, consent_id)
        status, accounts = await wallet.read(refreshed["access_token"])
        assert status == 200, accounts
        account_id = accounts["Data"]["Account"][0]["AccountId"]
        status, transactions = await wallet.read(refreshed["access_token"], f"/accounts/{account_id}/transactions")
        assert status == 200, transactions
        assert transactions["Data"]["Transaction"], "the approved account shows no transactions"
        status, _ = await wallet.post("revocation_endpoint", {"token": refreshed["access_token"]}, dpop=False)
        assert status == 200
        status, info = await wallet.post("introspection_endpoint", {"token": refreshed["access_token"]}, dpop=False)
        assert info == {"active": False}
        status, refused = await wallet.read(refreshed["access_token"])  # the deny-list, at the pipeline
        assert (status, refused["Message"]) == (401, "The access token has been revoked."), refused
