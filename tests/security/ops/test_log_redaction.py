"""No token, DPoP proof, client assertion, cookie, PAN or account number reaches the log output.

A real gateway process (JSON logs) receives requests carrying each of them in headers, query
strings, paths and bodies, including one that makes the app log the whole request and fail;
then the process's whole log output is searched for every secret.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import uuid

import orjson
import pytest

from gateway.oauth.keys import KeyRing
from tests.integration.ops.conftest import GatewayFactory, log_text
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.integration

PAN = "4111111111111111"
PAN_SPACED = "4111 1111 1111 1111"
SORT_CODE_ACCOUNT = "12-34-56 87654321"
ACCOUNT_IDENTIFICATION = "40400187654321"  # UK OB SortCodeAccountNumber
PASSWORD = "alice-demo"
COOKIE = "wg_session=cookie-secret-0123456789"


def _send(server: ServerProcess, path: str, *, method: str = "GET", headers: dict[str, str], body: bytes = b"") -> int:
    request = urllib.request.Request(server.url + path, data=body or None, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback test server
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def secrets(tmp_path) -> dict[str, str]:
    keys = KeyRing.load_or_create(tmp_path / "k.json")
    return {
        "token": keys.sign({"sub": "alice", "jti": uuid.uuid4().hex, "scope": "accounts"}, "at+jwt"),
        "proof": keys.sign({"htm": "GET", "htu": "http://x/", "jti": uuid.uuid4().hex}, "dpop+jwt"),
        "assertion": keys.sign({"iss": "wallet-1", "sub": "wallet-1", "jti": uuid.uuid4().hex}, "JWT"),
    }


def test_logs_never_carry_tokens_proofs_pans_or_account_numbers(
    gateway_process: GatewayFactory, secrets: dict[str, str]
) -> None:
    server = gateway_process(log_level="debug")
    auth = {"Authorization": f"DPoP {secrets['token']}", "DPoP": secrets["proof"], "Cookie": COOKIE}
    query = urllib.parse.urlencode({"access_token": secrets["token"], "card": PAN, "account": ACCOUNT_IDENTIFICATION})
    statuses = [
        _send(server, f"/open-banking/v4.0/aisp/accounts?{query}", headers=auth),
        _send(server, f"/open-banking/v4.0/aisp/accounts/{ACCOUNT_IDENTIFICATION}/balances", headers=auth),
        _send(
            server,
            "/token",
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "DPoP": secrets["proof"]},
            body=urllib.parse.urlencode(
                {
                    "grant_type": "authorization_code",
                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    "client_assertion": secrets["assertion"],
                    "password": PASSWORD,
                }
            ).encode(),
        ),
        _send(
            server,
            "/_ops_test/echo/" + urllib.parse.quote(SORT_CODE_ACCOUNT),
            method="POST",
            headers={**auth, "x-ssl-client-cert": "-----BEGIN%20CERTIFICATE-----MIIB"},
            body=orjson.dumps(
                {"Card": PAN_SPACED, "Identification": ACCOUNT_IDENTIFICATION, "note": f"pay {SORT_CODE_ACCOUNT}"}
            ),
        ),
    ]
    assert statuses[-1] == 500  # the echo route logged everything it saw, then failed
    server.stop()

    output = log_text(server)
    for name, secret in {**secrets, "pan": PAN, "pan_spaced": PAN_SPACED, "account": ACCOUNT_IDENTIFICATION}.items():
        assert secret not in output, f"{name} leaked into the log"
    for secret in ("87654321", PASSWORD, "cookie-secret", "MIIB"):
        assert secret not in output

    access = [orjson.loads(line) for line in output.splitlines() if '"walletgate.access"' in line]
    probes = [line for line in access if line["route"] == "/healthz"]
    assert {line["level"] for line in probes} == {"debug"}
    access = [line for line in access if line not in probes]
    assert len(access) == len(statuses)
    first = access[0]
    assert first["route"] == "/open-banking/v4.0/aisp/accounts"
    assert first["method"] == "GET"
    assert first["status"] == statuses[0]
    assert first["latency_ms"] >= 0
    uuid.UUID(first["interaction_id"])
    assert all("?" not in line["route"] and "?" not in line["message"] for line in access)
    assert access[1]["route"].endswith("/balances")
