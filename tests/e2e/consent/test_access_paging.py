"""GET /api/me/consents/{id}/access pages by cursor, on SQLite and PostgreSQL; a cursor it did not give is a 400."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent.model import AccessPosition
from tests.e2e.consent.conftest import Wallet, serving
from tests.e2e.consent.test_user_api import ME, User, _authorised
from tests.support.records import access_record


@pytest.fixture
def gateway(settings_factory: Callable[..., Any], database_url: str) -> Iterator[TestClient]:
    """On both databases, answering as a server would (a crash is a 500, not a raise)."""
    yield from serving(settings_factory, database_url, raise_server_exceptions=False)


@pytest.fixture
def alice(wallet: Wallet) -> User:
    return User(wallet, "alice")


def _record(wallet: Wallet, consent_id: str, *names: str, seconds_later: int = 0) -> None:
    """One read per name, a second apart in the order given (the last is the newest)."""
    store = wallet.services.consents
    assert store is not None
    start = store.now() + timedelta(seconds=seconds_later)
    records = [
        access_record(interaction_id=n, at=start + timedelta(seconds=i), consent_id=consent_id)
        for i, n in enumerate(names)
    ]
    wallet.run(store.record_access, records)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def test_a_read_recorded_between_two_pages_is_not_shown_again(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    _record(wallet, consent_id, "a", "b", "c")
    first = alice.get(f"{ME}/{consent_id}/access", params={"limit": 2}).json()
    _record(wallet, consent_id, "newer", seconds_later=60)
    rest = alice.get(f"{ME}/{consent_id}/access", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["interaction_id"] for r in first["access"] + rest["access"]] == ["c", "b", "a"]
    assert rest["next_cursor"] is None


def test_the_only_page_of_the_access_history_has_no_next_cursor(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    _record(wallet, consent_id, "a")
    assert alice.get(f"{ME}/{consent_id}/access").json()["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        _b64("abc"),
        _b64("1767225600000000.3") + "=",  # padded: not the spelling the API gives
        _b64("1767225600000000.3")[:-1] + "_",  # its last character altered: "...0.?"
        _b64("-1.3"),
        _b64("1767225600000000.0"),
        _b64("01767225600000000.3"),
        _b64("1767225600000000.3.1"),
        _b64("1767225600000000.9223372036854775808"),  # beyond a BIGINT
        _b64("999999999999999999.3"),  # beyond the year 9999
        _b64("1767225600000000.3") + "A" * 64,
        "é",
    ],
    ids=[
        "empty",
        "not-base64",
        "not-time-and-id",
        "padded",
        "altered",
        "negative-time",
        "id-zero",
        "leading-zero",
        "three-parts",
        "id-too-big",
        "time-too-far",
        "too-long",
        "not-ascii",
    ],
)
def test_a_cursor_the_api_did_not_give_is_refused_with_400_naming_it(wallet: Wallet, alice: User, cursor: str) -> None:
    consent_id = _authorised(wallet)
    response = alice.get(f"{ME}/{consent_id}/access", params={"cursor": cursor})
    assert response.status_code == 400, response.text
    error = response.json()["Errors"][0]
    assert error["Path"] == "query.cursor"
    assert error["Message"].startswith("cursor is not one this API gave")


def test_an_offset_is_refused_on_the_access_history_with_400_naming_it(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    response = alice.get(f"{ME}/{consent_id}/access", params={"offset": 2})
    assert response.status_code == 400, response.text
    assert response.json()["Errors"][0]["Path"] == "query.offset"


@pytest.mark.parametrize(
    "position",
    [
        AccessPosition(datetime(1970, 1, 1, tzinfo=UTC), 1),
        AccessPosition(datetime(2026, 1, 1, 12, 30, 5, 123456, tzinfo=UTC), 2**63 - 1),
        AccessPosition(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 7),
    ],
    ids=["epoch", "microseconds-and-largest-id", "last-microsecond"],
)
def test_a_cursor_reads_back_as_the_position_it_was_made_from(position: AccessPosition) -> None:
    from gateway.user_routes import decode_cursor, encode_cursor  # here: the HTTP tests run without the codec

    assert decode_cursor(encode_cursor(position)) == position
