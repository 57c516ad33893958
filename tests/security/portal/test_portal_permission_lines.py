"""The dashboard says what a consent lets the wallet see in the same lines as the authorization screen did.

A consent may ask for a Detail permission without its Basic (UK OB: Detail includes Basic); the
screen spells the Basic out, so the consent page the user reviews later must too.
"""

from __future__ import annotations

import html
import re

import pytest

from gateway.portal.catalogue import CATALOGUE
from sandbox.wallet.client import Wallet
from tests.security.portal.conftest import PortalWorld, field_value, logged_in

DETAIL_ONLY = ["ReadAccountsDetail", "ReadBalances"]  # no ReadAccountsBasic
BASIC_LINE = {"en": "Account type, currency and nickname", "zh": "账户类型、币种和昵称"}
BROWSER_LANGUAGE = {"en": "en-GB", "zh": "zh-CN"}


@pytest.fixture(scope="module")
def budget(world: PortalWorld) -> Wallet:
    return Wallet(world.demo.register_wallet("Budget Lines", "budget-lines-wallet"))


def section_lines(page: str, heading_id: str) -> list[str]:
    """The list items of the page section labelled by ``heading_id``."""
    section = page.split(f'aria-labelledby="{heading_id}"', 1)[1].split("</section>", 1)[0]
    return [html.unescape(item) for item in re.findall(r"<li>([^<]*)</li>", section)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_consent_page_lists_the_same_permission_lines_as_the_authorization_screen(
    world: PortalWorld, budget: Wallet, lang: str
) -> None:
    chen = logged_in(world, "chen", accept_language=BROWSER_LANGUAGE[lang])
    consent_id = budget.create_consent(DETAIL_ONLY, "aggregation", days=30, history_days=90)
    screen = chen.follow(budget.push_authorization_request(consent_id))
    assert screen.status_code == 200, screen.text
    form = {"request_uri": field_value(screen.text, "request_uri"), "csrf": field_value(screen.text, "csrf")}
    answer = chen.post("/authorize/decision", data=form | {"account_id": "acc-chen-savings", "decision": "approve"})
    assert answer.is_redirect, answer.text
    page = chen.get(f"/dashboard/consents/{consent_id}")
    assert page.status_code == 200, page.text
    asked = section_lines(screen.text, "what-title")
    assert BASIC_LINE[lang] in asked
    assert section_lines(page.text, "data-title") == asked
    assert CATALOGUE[lang]["data"] in page.text
