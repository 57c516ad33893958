"""The wallet's conversation with a FAPI 2.0 gateway, one method per step of the flow.

State that must outlive one command (the DPoP key the tokens are bound to, the tokens, the
consent id) is kept in a JSON file beside the wallet's credentials, readable by its owner only.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.wallet.proofs import client_assertion, dpop_proof, new_dpop_key, pkce_pair, thumbprint

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AISP = "/open-banking/v4.0/aisp"
RETRY_WAIT_LIMIT = 2  # seconds: a read refused by a per-second rate limit is sent again once after its Retry-After


class WalletError(Exception):
    """The gateway refused a step; the message carries its status and error body."""


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: Any


def _request(method: str, url: str, headers: dict[str, str], data: bytes | None = None) -> HttpResult:
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - gateway URL from config
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            raw, status, got = resp.read(), resp.status, resp.headers
    except urllib.error.HTTPError as err:
        raw, status, got = err.read(), err.code, err.headers
    body: Any = json.loads(raw) if raw and "json" in (got.get("content-type") or "") else raw.decode(errors="replace")
    return HttpResult(status, {k.lower(): v for k, v in got.items()}, body)


def _short_retry_after(result: HttpResult) -> int | None:
    """The seconds a 429 asks to wait when it is worth waiting once (``RETRY_WAIT_LIMIT`` at most)."""
    wait = result.headers.get("retry-after", "")
    if result.status != 429 or not wait.isdigit() or int(wait) > RETRY_WAIT_LIMIT:
        return None
    return int(wait)


class Wallet:
    def __init__(self, wallet_file: Path) -> None:
        self.creds = json.loads(wallet_file.read_text(encoding="utf-8"))
        self.state_file = wallet_file.with_name(wallet_file.stem + ".state.json")
        self.state: dict[str, Any] = (
            json.loads(self.state_file.read_text(encoding="utf-8")) if self.state_file.exists() else {}
        )
        self.state.setdefault("dpop_jwk", new_dpop_key())
        self.issuer: str = self.creds["issuer"].rstrip("/")
        self._meta: dict[str, Any] | None = None
        self._nonce: str | None = None

    # -- plumbing --------------------------------------------------------------------------

    def save(self) -> None:
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.state, fh, indent=2)

    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            result = _request("GET", f"{self.issuer}/.well-known/openid-configuration", {})
            if result.status != 200:
                raise WalletError(f"discovery failed: {result.status} {result.body}")
            self._meta = result.body
        return self._meta

    def _dpop_call(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None, token: str | None
    ) -> HttpResult:
        """Send with a fresh DPoP proof; retry once when the server asks for a nonce."""
        for _ in range(2):
            proof = dpop_proof(self.state["dpop_jwk"], method, url, access_token=token, nonce=self._nonce)
            result = _request(method, url, {**headers, "DPoP": proof}, data)
            nonce = result.headers.get("dpop-nonce")
            if nonce:
                self._nonce = nonce
            asked = isinstance(result.body, dict) and result.body.get("error") == "use_dpop_nonce"
            if not (asked or 'error="use_dpop_nonce"' in result.headers.get("www-authenticate", "")):
                return result
        return result

    def _token_request(self, endpoint: str, form: dict[str, str]) -> dict[str, Any]:
        form = {
            **form,
            "client_id": self.creds["client_id"],
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(self.creds["private_jwk"], self.creds["client_id"], self.issuer),
        }
        data = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        result = self._dpop_call("POST", endpoint, headers, data, None)
        if result.status not in (200, 201):
            raise WalletError(f"{endpoint}: {result.status} {result.body}")
        body: dict[str, Any] = result.body
        return body

    def api(
        self, method: str, path: str, token: str, body: Any = None, extra: dict[str, str] | None = None
    ) -> HttpResult:
        url = f"{self.issuer}{path}"
        headers = {
            "Authorization": f"DPoP {token}",
            "Accept": "application/json",
            "x-fapi-interaction-id": str(uuid.uuid4()),
            **(extra or {}),
        }
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        result = self._dpop_call(method, url, headers, data, token)
        wait = _short_retry_after(result) if method == "GET" else None
        if wait is not None:  # a per-second rate: a person would not notice the wait (a daily quota's is hours)
            time.sleep(wait)
            result = self._dpop_call(method, url, {**headers, "x-fapi-interaction-id": str(uuid.uuid4())}, data, token)
        return result

    # -- the flow --------------------------------------------------------------------------

    def client_credentials(self) -> str:
        tokens = self._token_request(
            self.meta["token_endpoint"], {"grant_type": "client_credentials", "scope": "accounts"}
        )
        return str(tokens["access_token"])

    def create_consent(self, permissions: list[str], purpose: str | None, days: int, history_days: int) -> str:
        now = datetime.now(UTC).replace(microsecond=0)
        data: dict[str, Any] = {
            "Permissions": permissions,
            "ExpirationDateTime": (now + timedelta(days=days)).isoformat(),
            "TransactionFromDateTime": (now - timedelta(days=history_days)).isoformat(),
            "TransactionToDateTime": (now + timedelta(days=days)).isoformat(),
        }
        if purpose:  # WalletGate's documented extension (openapi/walletgate-consent-extension.md)
            data["WalletGate"] = {"Purposes": [purpose]}
        extra = {"x-idempotency-key": uuid.uuid4().hex}
        result = self.api(
            "POST", f"{AISP}/account-access-consents", self.client_credentials(), {"Data": data, "Risk": {}}, extra
        )
        if result.status != 201:
            raise WalletError(f"creating the consent failed: {result.status} {result.body}")
        consent_id = str(result.body["Data"]["ConsentId"])
        self.state["consent_id"] = consent_id
        self.save()
        return consent_id

    def push_authorization_request(self, consent_id: str) -> str:
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        form = {
            "response_type": "code",
            "redirect_uri": self.creds["redirect_uri"],
            "scope": "openid accounts",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "authorization_details": json.dumps([{"type": "account_access_consent", "consent_id": consent_id}]),
            "dpop_jkt": thumbprint(self.state["dpop_jwk"]),
        }
        par = self._token_request(self.meta["pushed_authorization_request_endpoint"], form)
        self.state["pending"] = {"verifier": verifier, "state": state, "nonce": nonce}
        self.save()
        query = urllib.parse.urlencode({"client_id": self.creds["client_id"], "request_uri": par["request_uri"]})
        return f"{self.meta['authorization_endpoint']}?{query}"

    def finish_authorization(self, callback_query: dict[str, str]) -> dict[str, Any]:
        pending = self.state.pop("pending", None)
        if pending is None:
            raise WalletError("no authorization in progress; run the consent command first")
        if callback_query.get("iss") != self.issuer:
            raise WalletError(
                f"callback iss {callback_query.get('iss')!r} is not {self.issuer!r} (RFC 9207 mix-up defence)"
            )
        if callback_query.get("state") != pending["state"]:
            raise WalletError("callback state does not match the request")
        if "error" in callback_query:
            self.save()
            raise WalletError(
                f"authorization refused: {callback_query['error']} {callback_query.get('error_description', '')}"
            )
        tokens = self._token_request(
            self.meta["token_endpoint"],
            {
                "grant_type": "authorization_code",
                "code": callback_query["code"],
                "redirect_uri": self.creds["redirect_uri"],
                "code_verifier": pending["verifier"],
            },
        )
        self._keep_tokens(tokens)
        return tokens

    def _keep_tokens(self, tokens: dict[str, Any]) -> None:
        self.state["access_token"] = tokens["access_token"]
        self.state["expires_at"] = time.time() + float(tokens.get("expires_in", 0)) - 5
        if "refresh_token" in tokens:
            self.state["refresh_token"] = tokens["refresh_token"]
        self.save()

    def access_token(self) -> str:
        if "access_token" not in self.state:
            raise WalletError("no tokens yet; run the consent command and approve in the browser")
        if time.time() >= self.state.get("expires_at", 0):
            tokens = self._token_request(
                self.meta["token_endpoint"],
                {"grant_type": "refresh_token", "refresh_token": self.state["refresh_token"]},
            )
            self._keep_tokens(tokens)
        return str(self.state["access_token"])
