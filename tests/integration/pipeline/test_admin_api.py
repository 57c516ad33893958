"""``PUT /admin/apis/{name}``: bank admins publish an API over HTTP; a bad one is refused whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.pipeline.conftest import Wallet

ADMIN_TOKEN = "admin-s3cret-token"


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    return {"admin_token": ADMIN_TOKEN}


def _put(wallet: Wallet, files: tuple[Path, Path], token: str, policy: str | None = None) -> Any:
    body = {"policy": policy or files[1].read_text(encoding="utf-8"), "openapi": files[0].read_text(encoding="utf-8")}
    return wallet.client.put("/admin/apis/catalogue", json=body, headers={"Authorization": f"Bearer {token}"})


def test_admin_api_publishes_and_the_api_is_served_at_once(wallet: Wallet, files: tuple[Path, Path]) -> None:
    response = _put(wallet, files, ADMIN_TOKEN)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "catalogue", "base_path": "/catalogue/v1", "operations": ["ListProducts"]}
    consent = wallet.consent({"ReadProducts"}, accounts=("acc-alice-current",))
    served = wallet.get("/catalogue/v1/products", consent, **{"x-fapi-customer-ip-address": "10.0.0.1"})
    assert served.status_code == 200, served.text


def test_admin_api_refuses_a_wrong_token(wallet: Wallet, files: tuple[Path, Path]) -> None:
    response = _put(wallet, files, "guess")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_bad_policy_is_refused_whole_and_the_live_api_stays_live(
    wallet: Wallet,
    files: tuple[Path, Path],
) -> None:
    assert _put(wallet, files, ADMIN_TOKEN).status_code == 200
    bad = (
        files[1].read_text(encoding="utf-8").replace("    filter: products\n", "    filter: products\n    limts: []\n")
    )
    response = _put(wallet, files, ADMIN_TOKEN, policy=bad)
    assert response.status_code == 400
    assert "policy.yaml:10: operations.ListProducts.limts: unknown key 'limts'" in response.json()["Message"]
    consent = wallet.consent({"ReadProducts"}, accounts=("acc-alice-current",))
    served = wallet.get("/catalogue/v1/products", consent, **{"x-fapi-customer-ip-address": "10.0.0.1"})
    assert served.status_code == 200


def test_admin_api_refuses_a_document_that_does_not_parse(wallet: Wallet, files: tuple[Path, Path]) -> None:
    body = {"policy": files[1].read_text(encoding="utf-8"), "openapi": "openapi: 3.0.3\npaths: [unclosed"}
    response = wallet.client.put("/admin/apis/catalogue", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 400
    assert "openapi.yaml" in response.json()["Message"]


def _put_body(wallet: Wallet, content: bytes, name: str = "catalogue") -> Any:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    return wallet.client.put(f"/admin/apis/{name}", content=content, headers=headers)


def test_admin_api_refuses_a_body_that_is_not_json(wallet: Wallet) -> None:
    response = _put_body(wallet, b"policy: x")
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Message"] == "The body must be JSON with 'policy' and 'openapi' texts."
    assert response.json()["Errors"][0]["Path"] == "(body)"


@pytest.mark.parametrize("body", [b'{"policy": "name: catalogue"}', b'{"policy": "name: c", "openapi": "  "}', b"[]"])
def test_admin_api_refuses_a_body_without_both_texts(wallet: Wallet, body: bytes) -> None:
    response = _put_body(wallet, body)
    assert response.status_code == 400
    error = response.json()["Errors"][0]
    assert error["ErrorCode"] == "U004"  # UK.OBIE.Field.Missing as a v4 ExternalReason1Code
    assert error["Message"].endswith("must hold the " + error["Path"] + " document as text.")


def test_admin_api_refuses_a_policy_named_other_than_the_url(wallet: Wallet, files: tuple[Path, Path]) -> None:
    body = {"policy": files[1].read_text(encoding="utf-8"), "openapi": files[0].read_text(encoding="utf-8")}
    response = wallet.client.put("/admin/apis/other", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 400
    assert "name: 'catalogue' does not match the API name 'other' in the URL" in response.json()["Message"]


@pytest.mark.parametrize("gateway_overrides", [{}])
def test_admin_api_is_404_while_no_admin_token_is_configured(wallet: Wallet, files: tuple[Path, Path]) -> None:
    response = _put(wallet, files, "")
    assert response.status_code == 404
    assert "The admin API is disabled" in response.json()["Message"]
    assert wallet.client.get("/admin/apis", headers={"Authorization": "Bearer "}).status_code == 404


def test_admin_api_refuses_a_base_path_a_published_api_already_serves(wallet: Wallet, files: tuple[Path, Path]) -> None:
    assert _put(wallet, files, ADMIN_TOKEN).status_code == 200
    twin = files[1].read_text(encoding="utf-8").replace("name: catalogue", "name: catalogue-twin")
    body = {"policy": twin, "openapi": files[0].read_text(encoding="utf-8")}
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = wallet.client.put("/admin/apis/catalogue-twin", json=body, headers=headers)
    assert response.status_code == 400
    assert (
        "base_path '/catalogue/v1' is already used by published-apis/catalogue/policy.yaml"
        in (response.json()["Message"])
    )
    assert [a["name"] for a in wallet.client.get("/admin/apis", headers=headers).json()["apis"]].count("catalogue") == 1


def test_admin_api_refuses_a_base_path_a_shipped_api_serves(wallet: Wallet, files: tuple[Path, Path]) -> None:
    taken = files[1].read_text(encoding="utf-8").replace("/catalogue/v1", "/open-banking/v4.0/aisp")
    response = _put(wallet, files, ADMIN_TOKEN, policy=taken)
    assert response.status_code == 400
    assert "base_path '/open-banking/v4.0/aisp' is already used by" in response.json()["Message"]


def test_admin_api_unpublishes_and_the_api_is_gone_at_once(wallet: Wallet, files: tuple[Path, Path]) -> None:
    assert _put(wallet, files, ADMIN_TOKEN).status_code == 200
    consent = wallet.consent({"ReadProducts"}, accounts=("acc-alice-current",))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert wallet.client.delete("/admin/apis/catalogue", headers=headers).status_code == 204
    assert wallet.get("/catalogue/v1/products", consent).status_code == 404
    assert "catalogue" not in [a["name"] for a in wallet.client.get("/admin/apis", headers=headers).json()["apis"]]


def test_admin_api_unpublishing_an_unknown_api_is_404(wallet: Wallet) -> None:
    response = wallet.client.delete("/admin/apis/nothing", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 404
    assert "no API of that name is published" in response.json()["Errors"][0]["Message"]


def test_admin_api_does_not_unpublish_a_shipped_api(wallet: Wallet) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = wallet.client.delete("/admin/apis/uk-ob-accounts-v4", headers=headers)
    assert response.status_code == 404
    assert "shipped with the policies" in response.json()["Errors"][0]["Message"]
    assert "uk-ob-accounts-v4" in [a["name"] for a in wallet.client.get("/admin/apis", headers=headers).json()["apis"]]


def test_admin_api_unpublish_needs_the_admin_token(wallet: Wallet, files: tuple[Path, Path]) -> None:
    assert _put(wallet, files, ADMIN_TOKEN).status_code == 200
    assert wallet.client.delete("/admin/apis/catalogue", headers={"Authorization": "Bearer guess"}).status_code == 401
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert "catalogue" in [a["name"] for a in wallet.client.get("/admin/apis", headers=headers).json()["apis"]]
