"""Parsing OBReadConsent1 bodies and rendering OBReadConsentResponse1 bodies (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consent.errors import (
    ConsentFieldError,
    ConsentFieldInvalidDateError,
    ConsentFieldMissingError,
    ConsentFieldUnexpectedError,
)
from consent.model import Consent, ConsentStatus
from consent.wallet_api import body_hash, parse_consent_request, render_consent

T = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _parse(data: dict[str, object], **kw: str):
    return parse_consent_request({"Data": data, "Risk": {}}, client_id="w-1", **kw)


def test_plain_uk_ob_body_gets_the_default_purpose() -> None:
    new = _parse({"Permissions": ["ReadBalances"]}, default_purpose="lending")
    assert new.purposes == ("lending",)
    assert new.permissions == frozenset({"ReadBalances"})


def test_marketing_is_never_used_as_a_default() -> None:
    assert _parse({"Permissions": ["ReadBalances"]}, default_purpose="marketing").purposes == ("aggregation",)


def test_extension_carries_purposes_recipients_and_frequency() -> None:
    new = _parse(
        {
            "Permissions": ["ReadBalances"],
            "TransactionFromDateTime": "2026-01-01T00:00:00Z",
            "WalletGate": {"Purposes": ["lending"], "Recipients": ["credit_bureau:x"], "FrequencyPerDay": 2},
        }
    )
    assert (new.purposes, new.recipients, new.frequency_per_day) == (("lending",), ("credit_bureau:x",), 2)
    assert new.transaction_from == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "error", "path"),
    [
        ({}, ConsentFieldMissingError, "Data.Permissions"),
        ({"Permissions": []}, ConsentFieldError, "Data.Permissions"),
        ({"Permissions": ["ReadBalances", "ReadBalances"]}, ConsentFieldError, "Data.Permissions"),
        ({"Permissions": ["ReadBalances"], "Status": "AUTH"}, ConsentFieldUnexpectedError, "Data.Status"),
        ({"Permissions": ["ReadBalances"], "Other": 1}, ConsentFieldUnexpectedError, "Data.Other"),
        (
            {"Permissions": ["ReadBalances"], "ExpirationDateTime": "soon"},
            ConsentFieldInvalidDateError,
            "Data.ExpirationDateTime",
        ),
        ({"Permissions": ["ReadBalances"], "WalletGate": {}}, ConsentFieldError, "Data.WalletGate.Purposes"),
        (
            {"Permissions": ["ReadBalances"], "WalletGate": {"Purposes": ["a"], "FrequencyPerDay": True}},
            ConsentFieldError,
            "Data.WalletGate.FrequencyPerDay",
        ),
    ],
)
def test_malformed_bodies_are_refused_naming_the_path(data, error, path) -> None:
    with pytest.raises(error) as caught:
        _parse(data)
    assert type(caught.value) is error
    assert caught.value.path == path


def test_a_date_time_utc_cannot_hold_is_refused_naming_the_field() -> None:
    with pytest.raises(ConsentFieldInvalidDateError) as caught:
        _parse({"Permissions": ["ReadBalances"], "TransactionToDateTime": "9999-12-31T23:59:59-05:00"})
    assert caught.value.path == "Data.TransactionToDateTime"
    assert caught.value.message == "Data.TransactionToDateTime is out of range: '9999-12-31T23:59:59-05:00'."


def test_date_times_are_read_into_utc() -> None:
    new = _parse({"Permissions": ["ReadBalances"], "ExpirationDateTime": "2026-11-01T20:00:00+08:00"})
    assert new.expires_at == T
    assert new.expires_at is not None
    assert new.expires_at.tzinfo is UTC


def test_several_server_owned_fields_are_named_together() -> None:
    with pytest.raises(ConsentFieldUnexpectedError) as caught:
        _parse({"Permissions": ["ReadBalances"], "ConsentId": "x", "Status": "AUTH"})
    assert caught.value.message == "Data.ConsentId, Data.Status are set by the server and must not be sent."


def test_body_hash_ignores_key_order_and_whitespace() -> None:
    assert body_hash({"a": 1, "b": [1, 2]}) == body_hash({"b": [1, 2], "a": 1})
    assert body_hash({"a": 1}) != body_hash({"a": 2})


def test_paused_consent_renders_as_authorised_with_a_status_reason() -> None:
    consent = Consent("c-1", "w-1", ConsentStatus.PAUSED, frozenset({"ReadBalances"}), ("aggregation",), T, T, T)
    doc = render_consent(consent, self_url="https://gw/c-1")
    assert doc["Data"]["Status"] == "AUTH"
    assert doc["Data"]["StatusReason"][0]["StatusReasonCode"] == "PAUS"
    assert doc["Links"] == {"Self": "https://gw/c-1"}
    assert doc["Risk"] == {}
