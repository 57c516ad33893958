"""The wallet-facing consent resource in UK Open Banking v4.0 shape (pure: no I/O).

``parse_consent_request`` turns an ``OBReadConsent1`` body into ``NewConsent`` arguments;
``render_consent`` turns a ``Consent`` into an ``OBReadConsentResponse1`` body.

WalletGate's purpose extension travels inside ``Data`` as the object ``Data.WalletGate``
(``Purposes``, ``Recipients``, ``FrequencyPerDay``); the official schema leaves ``Data`` open
to extra members, so an extended body still validates, and a body without it is an ordinary UK
OB request that gets the wallet's default purpose. See openapi/walletgate-consent-extension.md.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from consent.chain import canonical
from consent.errors import (
    ConsentFieldError,
    ConsentFieldInvalidDateError,
    ConsentFieldMissingError,
    ConsentFieldUnexpectedError,
)
from consent.model import Consent, ConsentStatus, NewConsent

EXTENSION = "WalletGate"
SERVER_OWNED = ("ConsentId", "CreationDateTime", "Status", "StatusReason", "StatusUpdateDateTime")
_EXTENSION_MEMBERS = ("Purposes", "Recipients", "FrequencyPerDay")
MAX_RECIPIENTS = 20
MAX_RECIPIENT_LENGTH = 200  # "kind:name"
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # control, format, surrogate, unassigned...
_DATES = ("ExpirationDateTime", "TransactionFromDateTime", "TransactionToDateTime")
_DATA_MEMBERS = ("Permissions", *_DATES, EXTENSION)
FALLBACK_PURPOSE = "aggregation"
NEVER_DEFAULT = frozenset({"marketing"})


def body_hash(doc: Any) -> str:
    """SHA-256 of the body's canonical JSON: the same request in other whitespace or key order matches."""
    return hashlib.sha256(canonical(doc)).hexdigest()


def load_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ConsentFieldError("The request body is not JSON.", path="body") from None


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        raise ConsentFieldMissingError(f"{path} is required.", path=path)
    if not isinstance(value, dict):
        raise ConsentFieldError(f"{path} must be an object.", path=path)
    return value


def _date(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    path = f"Data.{name}"
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConsentFieldInvalidDateError(f"{path} must be an ISO 8601 date-time string.", path=path)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConsentFieldInvalidDateError(f"{path} is not an ISO 8601 date-time: {value[:40]!r}.", path=path) from None
    if parsed.tzinfo is None:
        raise ConsentFieldInvalidDateError(f"{path} must include a timezone.", path=path)
    try:
        return parsed.astimezone(UTC)  # stored in UTC: a time that UTC cannot hold (year 9999 at -05:00) is refused
    except OverflowError:
        raise ConsentFieldInvalidDateError(f"{path} is out of range: {value[:40]!r}.", path=path) from None


def _strings(value: Any, path: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConsentFieldError(f"{path} must be a list of strings.", path=path)
    if not value and not allow_empty:
        raise ConsentFieldError(f"{path} must not be empty.", path=path)
    if len(set(value)) != len(value):
        raise ConsentFieldError(f"{path} lists an entry twice.", path=path)
    return tuple(value)


def _check_recipients(recipients: tuple[str, ...], path: str) -> None:
    """Recipients are shown to the user as written: plain text of a bounded length, with no control or
    formatting character (a NUL, a right-to-left override that makes a name read as another)."""
    if len(recipients) > MAX_RECIPIENTS:
        raise ConsentFieldError(f"{path} lists more than {MAX_RECIPIENTS} recipients.", path=path)
    for recipient in recipients:
        if len(recipient) > MAX_RECIPIENT_LENGTH:
            raise ConsentFieldError(f"{path}: a recipient is longer than {MAX_RECIPIENT_LENGTH} characters.", path=path)
        if any(unicodedata.category(char) in _HIDDEN_CATEGORIES for char in recipient):
            raise ConsentFieldError(f"{path}: a recipient holds a control or formatting character.", path=path)


def _refuse_unknown(members: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    owned = [k for k in SERVER_OWNED if k in members]
    if owned:
        raise ConsentFieldUnexpectedError(
            f"{', '.join(f'{where}.{k}' for k in owned)} {'is' if len(owned) == 1 else 'are'} set by the server "
            "and must not be sent.",
            path=f"{where}.{owned[0]}",
        )
    unknown = sorted(k for k in members if k not in allowed)
    if unknown:
        raise ConsentFieldUnexpectedError(f"Unknown member {where}.{unknown[0]}.", path=f"{where}.{unknown[0]}")


def _extension(data: Mapping[str, Any], default_purpose: str) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    ext = data.get(EXTENSION)
    if ext is None:
        purpose = default_purpose if default_purpose not in NEVER_DEFAULT else FALLBACK_PURPOSE
        return (purpose or FALLBACK_PURPOSE,), (), 4
    ext = _object(ext, f"Data.{EXTENSION}")
    _refuse_unknown(ext, _EXTENSION_MEMBERS, f"Data.{EXTENSION}")
    purposes = _strings(ext.get("Purposes"), f"Data.{EXTENSION}.Purposes")
    recipients = _strings(ext.get("Recipients", []), f"Data.{EXTENSION}.Recipients", allow_empty=True)
    _check_recipients(recipients, f"Data.{EXTENSION}.Recipients")
    frequency = ext.get("FrequencyPerDay", 4)
    if not isinstance(frequency, int) or isinstance(frequency, bool):
        path = f"Data.{EXTENSION}.FrequencyPerDay"
        raise ConsentFieldError(f"{path} must be an integer.", path=path)
    return purposes, recipients, frequency


def parse_consent_request(doc: Any, *, client_id: str, default_purpose: str = FALLBACK_PURPOSE) -> NewConsent:
    """The ``NewConsent`` an OBReadConsent1 body asks for; refuses server-owned and malformed members."""
    top = _object(doc, "body")
    data = _object(top.get("Data"), "Data")
    risk = _object(top.get("Risk"), "Risk")
    if risk:
        raise ConsentFieldUnexpectedError("Risk must be an empty object for account access.", path="Risk")
    _refuse_unknown(data, _DATA_MEMBERS, "Data")
    if "Permissions" not in data:
        raise ConsentFieldMissingError("Data.Permissions is required.", path="Data.Permissions")
    permissions = _strings(data["Permissions"], "Data.Permissions")
    purposes, recipients, frequency = _extension(data, default_purpose)
    return NewConsent(
        client_id=client_id,
        permissions=frozenset(permissions),
        purposes=purposes,
        expires_at=_date(data, "ExpirationDateTime"),
        transaction_from=_date(data, "TransactionFromDateTime"),
        transaction_to=_date(data, "TransactionToDateTime"),
        recipients=recipients,
        frequency_per_day=frequency,
    )


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def render_consent(consent: Consent, *, self_url: str) -> dict[str, Any]:
    """The OBReadConsentResponse1 body. A paused consent shows as AUTH with a StatusReason."""
    data: dict[str, Any] = {
        "ConsentId": consent.consent_id,
        "CreationDateTime": _stamp(consent.created_at),
        "Status": consent.status.wallet_facing,
        "StatusUpdateDateTime": _stamp(consent.status_updated_at),
        "Permissions": sorted(consent.permissions),
    }
    if consent.status is ConsentStatus.PAUSED:
        data["StatusReason"] = [
            {
                "StatusReasonCode": "PAUS",
                "StatusReasonDescription": "The user has paused this consent; data access is refused until resumed.",
            }
        ]
    for name, value in (
        ("ExpirationDateTime", consent.expires_at),
        ("TransactionFromDateTime", consent.transaction_from),
        ("TransactionToDateTime", consent.transaction_to),
    ):
        if value is not None:
            data[name] = _stamp(value)
    data[EXTENSION] = {
        "Purposes": list(consent.purposes),
        "Recipients": list(consent.recipients),
        "FrequencyPerDay": consent.frequency_per_day,
    }
    return {"Data": data, "Risk": {}, "Links": {"Self": self_url}, "Meta": {}}
