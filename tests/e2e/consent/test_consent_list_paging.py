"""GET /api/me/consents pages by cursor, on SQLite and PostgreSQL; a cursor it did not give is a 400."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.e2e.consent.conftest import Wallet, serving
from tests.e2e.consent.test_user_api import ME, User, _authorised

A_CONSENT_ID = "0b7f7a3e-2d4c-4f7e-9a51-3c2b1d0e9f8a"


@pytest.fixture
def gateway(settings_factory: Callable[..., Any], database_url: str) -> Iterator[TestClient]:
    """On both databases, answering as a server would (a crash is a 500, not a raise)."""
    yield from serving(settings_factory, database_url, raise_server_exceptions=False)


@pytest.fixture
def alice(wallet: Wallet) -> User:
    return User(wallet, "alice")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _all_pages(alice: User, first: dict[str, Any], **params: Any) -> list[str]:
    """The consent ids of ``first`` and every page after it, with the same filters."""
    seen, page = [c["consent_id"] for c in first["consents"]], first
    while page["next_cursor"] is not None:
        response = alice.get(ME, params=params | {"cursor": page["next_cursor"]})
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [c["consent_id"] for c in page["consents"]]
    return seen


def test_a_consent_created_between_two_pages_is_not_shown_again_nor_one_hidden(wallet: Wallet, alice: User) -> None:
    made = [_authorised(wallet) for _ in range(3)]
    first = alice.get(ME, params={"limit": 2}).json()
    _authorised(wallet)
    assert sorted(_all_pages(alice, first, limit=2)) == sorted(made)


def test_a_purpose_filtered_page_is_full_and_the_cursor_keeps_the_filter(wallet: Wallet, alice: User) -> None:
    lending = []
    for n in range(6):
        purposes = ["lending"] if n % 2 else ["aggregation"]
        consent_id = _authorised(wallet, WalletGate={"Purposes": purposes})
        lending += [consent_id] if n % 2 else []
    first = alice.get(ME, params={"purpose": "lending", "limit": 2}).json()
    assert len(first["consents"]) == 2
    assert sorted(_all_pages(alice, first, purpose="lending", limit=2)) == sorted(lending)


def test_the_only_page_of_the_consent_list_has_no_next_cursor(wallet: Wallet, alice: User) -> None:
    _authorised(wallet)
    assert alice.get(ME).json()["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        _b64("1767225600000000"),
        _b64(f"1767225600000000.{A_CONSENT_ID}") + "=",  # padded: not the spelling the API gives
        _b64(f"1767225600000000.{A_CONSENT_ID}")[:-1] + "_",  # its last character altered
        _b64(f"-1.{A_CONSENT_ID}"),
        _b64(f"01767225600000000.{A_CONSENT_ID}"),
        _b64(f"1767225600000000.{A_CONSENT_ID.upper()}"),
        _b64(f"1767225600000000.{A_CONSENT_ID}.1"),
        _b64(f"999999999999999999.{A_CONSENT_ID}"),  # beyond the year 9999
        _b64("1767225600000000.3"),  # an access-history cursor's key
        _b64(f"1767225600000000.{A_CONSENT_ID}") + "A" * 64,
        "é",
    ],
    ids=[
        "empty",
        "not-base64",
        "no-id",
        "padded",
        "altered",
        "negative-time",
        "leading-zero",
        "upper-case-id",
        "three-parts",
        "time-too-far",
        "access-cursor",
        "too-long",
        "not-ascii",
    ],
)
def test_a_cursor_the_consent_list_did_not_give_is_refused_with_400_naming_it(
    wallet: Wallet, alice: User, cursor: str
) -> None:
    _authorised(wallet)
    response = alice.get(ME, params={"cursor": cursor})
    assert response.status_code == 400, response.text
    error = response.json()["Errors"][0]
    assert error["Path"] == "query.cursor"
    assert error["Message"].startswith("cursor is not one this API gave")


def test_an_offset_is_refused_on_the_consent_list_with_400_naming_it(wallet: Wallet, alice: User) -> None:
    _authorised(wallet)
    response = alice.get(ME, params={"offset": 2})
    assert response.status_code == 400, response.text
    error = response.json()["Errors"][0]
    assert error["Path"] == "query.offset"
    assert error["Message"].startswith("The consent list pages by cursor")


@pytest.mark.parametrize(
    ("at", "consent_id"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), A_CONSENT_ID),
        (datetime(2026, 1, 1, 12, 30, 5, 123456, tzinfo=UTC), A_CONSENT_ID),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "f" * 8 + "-ffff" * 3 + "-" + "f" * 12),
    ],
    ids=["epoch", "microseconds", "last-microsecond-and-largest-id"],
)
def test_a_consent_cursor_reads_back_as_the_position_it_was_made_from(at: datetime, consent_id: str) -> None:
    from consent.model import ConsentPosition  # here: the HTTP tests run without the codec
    from gateway.user_routes import decode_consent_cursor, encode_consent_cursor

    position = ConsentPosition(at, consent_id)
    assert decode_consent_cursor(encode_consent_cursor(position)) == position


def test_a_consent_cursor_is_not_an_access_cursor_nor_the_reverse() -> None:
    from consent.model import AccessPosition, ConsentPosition
    from gateway.user_routes import decode_consent_cursor, decode_cursor, encode_consent_cursor, encode_cursor

    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert decode_cursor(encode_consent_cursor(ConsentPosition(at, A_CONSENT_ID))) is None
    assert decode_consent_cursor(encode_cursor(AccessPosition(at, 3))) is None
