"""The dashboard and detail pages in Chinese: chosen by Accept-Language, ``?lang=`` or the ``/language`` switch."""

from __future__ import annotations

import html

import pytest

from gateway.portal.catalogue import CATALOGUE
from tests.security.portal.conftest import PortalClient, PortalWorld, logged_in

# English strings long enough that finding one on a Chinese page means it was not translated.
DISTINCTIVE_ENGLISH = sorted(
    {text for text in CATALOGUE["en"].values() if len(text) >= 12 and "{" not in text} - set(CATALOGUE["zh"].values())
)


def english_left_on(page: str) -> list[str]:
    text = html.unescape(page)
    return [english for english in DISTINCTIVE_ENGLISH if english in text]


def assert_chinese_dashboard(page: str) -> None:
    assert CATALOGUE["zh"]["dashboard_title"] in page
    assert CATALOGUE["zh"]["status_AUTH"] in page
    assert '<html lang="zh' in page
    assert english_left_on(page) == []


def test_there_are_english_strings_to_look_for() -> None:
    assert len(DISTINCTIVE_ENGLISH) > 30


def test_dashboard_in_chinese_from_accept_language(world: PortalWorld) -> None:
    alice = logged_in(world, "alice", accept_language="zh-CN,zh;q=0.9,en;q=0.5")
    assert_chinese_dashboard(alice.get("/dashboard").text)


def test_dashboard_in_english_has_the_english_strings(world: PortalWorld) -> None:
    page = logged_in(world, "alice", accept_language="en-GB").get("/dashboard").text
    assert CATALOGUE["en"]["dashboard_title"] in html.unescape(page)
    assert CATALOGUE["zh"]["dashboard_title"] not in page
    assert english_left_on(page) != []  # the check below would notice English on a Chinese page


def test_dashboard_in_chinese_from_the_lang_switch(world: PortalWorld) -> None:
    alice = logged_in(world, "alice", accept_language="en-GB")
    assert_chinese_dashboard(alice.get("/dashboard", params={"lang": "zh"}).text)


def test_language_switch_is_remembered_for_later_pages(world: PortalWorld) -> None:
    alice = logged_in(world, "alice", accept_language="en-GB")
    switched = alice.get("/language", params={"lang": "zh", "next": "/dashboard"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/dashboard"
    assert_chinese_dashboard(alice.get("/dashboard").text)
    detail = alice.get(f"/dashboard/consents/{world.alice_consent}").text
    assert CATALOGUE["zh"]["pause"] in detail
    assert english_left_on(detail) == []


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x"])
def test_language_switch_never_leaves_the_site(world: PortalWorld, next_path: str) -> None:
    response = PortalClient(world.demo.issuer).get("/language", params={"lang": "zh", "next": next_path})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/")
    assert not response.headers["location"].startswith("//")
