"""Language choice, amendment bodies and the change feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consent.changes import ConsentChanges
from consent.errors import ConsentFieldError
from consent.model import Consent, ConsentStatus
from consent.user_api import language, parse_amendment


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-GB,zh;q=0.5", "en"),
        ("fr, zh;q=0.3", "zh"),
        ("zh;q=0", "en"),
        ("de", "en"),
    ],
)
def test_language_follows_accept_language(header: str | None, expected: str) -> None:
    assert language(header) == expected


def test_amendment_keeps_lists_given() -> None:
    assert parse_amendment({"account_ids": ["a"]}) == (["a"], None)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "The amendment must be a JSON object."),
        ({}, "The amendment must give account_ids and/or permissions to keep."),
        ({"accounts": ["a"]}, "Unknown member 'accounts' in the amendment."),
        ({"permissions": "ReadBalances"}, "permissions must be a list of strings."),
    ],
)
def test_malformed_amendment_is_refused(doc: object, message: str) -> None:
    with pytest.raises(ConsentFieldError) as caught:
        parse_amendment(doc)
    assert caught.value.message == message


async def test_a_failing_subscriber_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    changes, seen = ConsentChanges(), []
    t = datetime(2026, 1, 1, tzinfo=UTC)
    consent = Consent("c-1", "w", ConsentStatus.REVOKED, frozenset({"ReadBalances"}), ("aggregation",), t, t, t)

    async def broken(_: Consent) -> None:
        raise RuntimeError("boom")

    async def working(c: Consent) -> None:
        seen.append(c.consent_id)

    changes.subscribe(broken)
    unsubscribe = changes.subscribe(working)
    await changes.publish(consent)
    assert seen == ["c-1"]
    assert "subscriber" in caplog.text
    unsubscribe()
    await changes.publish(consent)
    assert seen == ["c-1"]
