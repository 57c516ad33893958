"""A second API is published from an OpenAPI file and a policy file alone: no code, no restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.cli import main
from tests.integration.pipeline.conftest import Wallet


def _wait_for(wallet: Wallet, consent_id: str, status: int) -> int:
    deadline = time.monotonic() + 5
    got = 0
    while time.monotonic() < deadline:
        consent = wallet.run(wallet.services.consents.get, consent_id)  # type: ignore[union-attr]
        got = wallet.get("/catalogue/v1/products", consent, **{"x-fapi-customer-ip-address": "10.0.0.1"}).status_code
        if got == status:
            break
        time.sleep(0.2)
    return got


def test_api_published_with_the_cli_is_served_without_a_restart(
    wallet: Wallet, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    consent = wallet.consent({"ReadProducts"}, accounts=("acc-alice-current",))
    assert wallet.get("/catalogue/v1/products", consent).status_code == 404
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(wallet.services.settings.data_dir))
    monkeypatch.setenv("WALLETGATE_DATABASE_URL", wallet.services.settings.effective_database_url)
    assert main(["apis", "publish", str(files[0]), str(files[1])]) == 0
    assert "published: catalogue at /catalogue/v1" in capsys.readouterr().out
    assert _wait_for(wallet, consent.consent_id, 200) == 200
    response = wallet.get("/catalogue/v1/products", consent, **{"x-fapi-customer-ip-address": "10.0.0.1"})
    products = response.json()["Data"]["Product"]
    assert [p["ProductId"] for p in products] == ["p1"]  # bob's account's record is not alice's to see


def test_cli_check_refuses_a_bad_policy_naming_line_and_path(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    text = files[1].read_text(encoding="utf-8").replace("ReadProducts", "ReadProdcts")
    files[1].write_text(text, encoding="utf-8")
    assert main(["apis", "check", str(files[0]), str(files[1])]) == 1
    assert (
        "catalogue.yaml:8: operations.ListProducts.permissions.all_of[0]: unknown permission 'ReadProdcts'"
        in capsys.readouterr().err
    )


def test_admin_api_is_disabled_without_an_admin_token(wallet: Wallet, files: tuple[Path, Path]) -> None:
    body = {"policy": files[1].read_text(encoding="utf-8"), "openapi": files[0].read_text(encoding="utf-8")}
    response = wallet.client.put("/admin/apis/catalogue", json=body, headers={"Authorization": "Bearer x"})
    assert response.status_code == 404


def test_api_unpublished_with_the_cli_stops_being_served(
    wallet: Wallet, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    consent = wallet.consent({"ReadProducts"}, accounts=("acc-alice-current",))
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(wallet.services.settings.data_dir))
    monkeypatch.setenv("WALLETGATE_DATABASE_URL", wallet.services.settings.effective_database_url)
    assert main(["apis", "publish", str(files[0]), str(files[1])]) == 0
    assert _wait_for(wallet, consent.consent_id, 200) == 200
    assert main(["apis", "unpublish", "catalogue"]) == 0
    assert "unpublished: catalogue" in capsys.readouterr().out
    assert _wait_for(wallet, consent.consent_id, 404) == 404
    assert main(["apis", "unpublish", "catalogue"]) == 1
    assert "no API of that name is published" in capsys.readouterr().err
