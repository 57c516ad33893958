"""The portal's string catalogues: every language has every string, none empty, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from gateway.portal.catalogue import CATALOGUE, Text
from gateway.portal.login_text import TEXT as LOGIN_TEXT

CATALOGUES = {"portal": CATALOGUE, "login": LOGIN_TEXT}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_english_and_chinese_catalogues_have_the_same_keys(name: str) -> None:
    catalogue = CATALOGUES[name]
    assert set(catalogue) == {"en", "zh"}
    assert sorted(set(catalogue["en"]) ^ set(catalogue["zh"])) == []


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_catalogues_have_no_empty_strings(name: str) -> None:
    empty = [(lang, key) for lang, texts in CATALOGUES[name].items() for key, text in texts.items() if not text.strip()]
    assert empty == []


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_translations_take_the_same_placeholders(name: str) -> None:
    catalogue = CATALOGUES[name]
    differ = [
        key for key in catalogue["en"] if placeholders(catalogue["en"][key]) != placeholders(catalogue["zh"][key])
    ]
    assert differ == []


def test_chinese_strings_are_translated() -> None:
    same = [key for key, text in CATALOGUE["en"].items() if len(text) > 12 and CATALOGUE["zh"][key] == text]
    assert same == []


def test_missing_key_fails_instead_of_showing_the_key() -> None:
    with pytest.raises(KeyError):
        Text("zh")("no_such_string")


def test_unknown_language_falls_back_to_english() -> None:
    assert Text("fr")("dashboard_title") == CATALOGUE["en"]["dashboard_title"]
