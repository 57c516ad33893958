"""The consent's terms on the pages: who else the wallet passes the data on to, and notices that match the state.

A lending consent may name onward recipients (``kind:name``, as the purpose's rules allow); the
user must see them before approving and afterwards on the dashboard.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from gateway.portal.catalogue import CATALOGUE
from sandbox.wallet.client import AISP, Wallet
from tests.security.portal.conftest import PortalClient, PortalWorld, consent_status, field_value, logged_in

RECIPIENT = "credit_bureau:Experian"


@dataclass
class LenderConsent:
    """A lending consent that names an onward recipient: its id and the URL the user opens to approve it."""

    consent_id: str
    authorize_url: str


@pytest.fixture(scope="module")
def lender(world: PortalWorld) -> Wallet:
    return Wallet(world.demo.register_wallet("Lender App", "lender-wallet"))


def lending_consent(wallet: Wallet) -> LenderConsent:
    now = datetime.now(UTC).replace(microsecond=0)
    data = {
        "Permissions": ["ReadAccountsDetail", "ReadBalances"],
        "ExpirationDateTime": (now + timedelta(days=30)).isoformat(),
        "WalletGate": {"Purposes": ["lending"], "Recipients": [RECIPIENT]},
    }
    answer = wallet.api(
        "POST",
        f"{AISP}/account-access-consents",
        wallet.client_credentials(),
        {"Data": data, "Risk": {}},
        {"x-idempotency-key": uuid.uuid4().hex},
    )
    assert answer.status == 201, answer.body
    consent_id = str(answer.body["Data"]["ConsentId"])
    return LenderConsent(consent_id, wallet.push_authorization_request(consent_id))


def approved(world: PortalWorld, wallet: Wallet, user: str, account: str) -> tuple[PortalClient, str]:
    """``user`` approves a new lending consent for ``account``; returns their client and the consent id."""
    client = logged_in(world, user)
    consent = lending_consent(wallet)
    screen = client.follow(consent.authorize_url)
    assert screen.status_code == 200, screen.text
    form = {"request_uri": field_value(screen.text, "request_uri"), "csrf": field_value(screen.text, "csrf")}
    answer = client.post("/authorize/decision", data=form | {"account_id": account, "decision": "approve"})
    assert answer.is_redirect, answer.text
    return client, consent.consent_id


def test_authorization_screen_names_who_the_wallet_passes_the_data_on_to(world: PortalWorld, lender: Wallet) -> None:
    chen = logged_in(world, "chen")
    screen = chen.follow(lending_consent(lender).authorize_url)
    assert screen.status_code == 200, screen.text
    text = html.unescape(screen.text)
    assert "Experian (a credit reference agency)" in text
    assert CATALOGUE["en"]["auth_recipients"] in text


def test_authorization_screen_in_chinese_names_the_recipients_in_chinese(world: PortalWorld, lender: Wallet) -> None:
    chen = logged_in(world, "chen", accept_language="zh-CN")
    screen = chen.follow(lending_consent(lender).authorize_url)
    assert screen.status_code == 200, screen.text
    text = html.unescape(screen.text)
    zh = CATALOGUE["zh"]
    assert zh["recipient"].format(name="Experian", kind=zh["recipient_credit_bureau"]) in text
    assert CATALOGUE["zh"]["auth_recipients"] in text


def test_consent_detail_names_who_the_wallet_passes_the_data_on_to(world: PortalWorld, lender: Wallet) -> None:
    dara, consent_id = approved(world, lender, "dara", "acc-dara-current")
    page = dara.get(f"/dashboard/consents/{consent_id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Experian (a credit reference agency)" in text
    assert CATALOGUE["en"]["recipients"] in text


def test_a_real_pause_is_confirmed_on_the_detail_page(world: PortalWorld, lender: Wallet) -> None:
    emeka, consent_id = approved(world, lender, "emeka", "acc-emeka-current")
    detail = f"/dashboard/consents/{consent_id}"
    token = field_value(emeka.get(detail).text, "csrf_token")
    answer = emeka.post(f"{detail}/pause", data={"csrf_token": token})
    assert answer.status_code == 303
    page = emeka.get(answer.headers["location"])
    assert CATALOGUE["en"]["done_paused"] in html.unescape(page.text)
    assert consent_status(emeka, consent_id) == "Paused"


def test_the_authorization_screens_language_switch_shows_the_same_request_again(
    world: PortalWorld, lender: Wallet
) -> None:
    chen = logged_in(world, "chen")
    screen = chen.follow(lending_consent(lender).authorize_url)
    assert screen.status_code == 200, screen.text
    switch = html.unescape(screen.text.split('hreflang="zh"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0])
    again = chen.follow(switch)
    assert again.status_code == 200, again.text
    assert CATALOGUE["zh"]["auth_recipients"] in html.unescape(again.text)
    assert field_value(again.text, "request_uri") == field_value(screen.text, "request_uri")


def test_consent_detail_shows_how_often_the_wallet_may_read_without_the_user(
    world: PortalWorld, lender: Wallet
) -> None:
    dara, consent_id = approved(world, lender, "dara", "acc-dara-current")
    text = html.unescape(dara.get(f"/dashboard/consents/{consent_id}").text)
    assert CATALOGUE["en"]["how_often"] in text
    assert CATALOGUE["en"]["frequency_per_day"].format(count=4) in text


def test_consent_detail_in_chinese_shows_how_often_the_wallet_may_read(world: PortalWorld, lender: Wallet) -> None:
    dara, consent_id = approved(world, lender, "dara", "acc-dara-current")
    text = html.unescape(dara.get(f"/dashboard/consents/{consent_id}", params={"lang": "zh"}).text)
    assert CATALOGUE["zh"]["how_often"] in text
    assert CATALOGUE["zh"]["frequency_per_day"].format(count=4) in text


def test_consent_detail_leaves_out_the_history_window_without_transactions(world: PortalWorld, lender: Wallet) -> None:
    dara, consent_id = approved(world, lender, "dara", "acc-dara-current")  # accounts and balances only
    text = html.unescape(dara.get(f"/dashboard/consents/{consent_id}").text)
    assert CATALOGUE["en"]["history_window"] not in text


def test_consent_detail_shows_the_history_window_of_a_consent_with_transactions(world: PortalWorld) -> None:
    alice = logged_in(world, "alice")  # the demo wallet asks for transaction detail
    text = html.unescape(alice.get(f"/dashboard/consents/{world.alice_consent}").text)
    assert CATALOGUE["en"]["history_window"] in text
