"""Check that the token's consent covers this operation, this account and this date window.

Refusals, in order: the consent is missing or belongs to another wallet or user (one
answer for both, so ids cannot be probed); its status is not AUTH (paused says so); it has
expired; the token lacks a scope the operation needs; the consent's permissions or purposes
do not cover the operation; one of its purposes is attended-only (``attended_only`` in
purposes.yaml) and the user is not present (no ``x-fapi-customer-ip-address``); the account in
the path is not one the user selected (the same 404 as an unknown id); the requested booking
window lies wholly outside the consent's.
A window that overlaps is clipped into the consent's and sent upstream clipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from consent.model import Consent, ConsentStatus
from gateway.errors import (
    FieldInvalidDateError,
    ForbiddenError,
    GatewayError,
    InvalidConsentStatusError,
    ResourceNotFoundError,
)
from gateway.pipeline.call import AccessToken, Call

FROM, TO = "fromBookingDateTime", "toBookingDateTime"
CUSTOMER_IP = "x-fapi-customer-ip-address"


_REASONS = {
    "scope": "scope",
    "Data.Permissions": "permission",
    "Data.Purposes": "purpose",
    CUSTOMER_IP: "purpose",
    FROM: "window",
    TO: "window",
}


async def authorize(call: Call) -> None:
    try:
        await _authorize(call)
    except GatewayError as exc:
        call.services.metrics.record_consent_decision(False, _reason(exc))
        raise
    call.services.metrics.record_consent_decision(True)


def _reason(exc: GatewayError) -> str:
    if isinstance(exc, InvalidConsentStatusError):
        return "status"
    if isinstance(exc, ResourceNotFoundError):
        return "account"
    return _REASONS.get(exc.path or "", "consent")


async def _authorize(call: Call) -> None:
    token, op = call.token, call.operation
    if token is None or op is None:
        raise ForbiddenError("The request was not authenticated.")
    consent = await _consent(call, token)
    now = datetime.fromtimestamp(call.services.clock(), UTC)
    _check_status(consent, now)
    missing = op.scopes - token.scope
    if missing:
        raise ForbiddenError(f"The access token lacks the scope(s) {', '.join(sorted(missing))}.", path="scope")
    granted = call.services.policies.permissions.expand(consent.permissions)
    if not op.permissions.allows(granted):
        raise ForbiddenError(
            f"The consent does not grant {op.permissions.describe()}, which {op.operation_id} needs.",
            path="Data.Permissions",
        )
    if op.purposes is not None and op.purposes.isdisjoint(consent.purposes):
        raise ForbiddenError(
            f"The consent's purpose ({', '.join(consent.purposes) or 'none'}) does not allow {op.operation_id}.",
            path="Data.Purposes",
        )
    call.attended = CUSTOMER_IP in call.headers
    attended_only = call.services.policies.purposes.attended_only(consent.purposes)
    if attended_only and not call.attended:
        raise ForbiddenError(
            f"The consent's purpose ({', '.join(attended_only)}) allows reading data only while the user is present"
            f" ({CUSTOMER_IP}).",
            path=CUSTOMER_IP,
        )
    call.consent, call.permissions = consent, granted
    call.account_ids = _accounts(call, consent)
    if op.date_window:
        _clip_window(call, consent)


async def _consent(call: Call, token: AccessToken) -> Consent:
    if token.consent_id is None:
        raise ForbiddenError("The access token carries no consent; it cannot read account data.")
    consent = await call.runtime.consents.get(token.consent_id)
    if consent is None or consent.client_id != token.client_id or consent.user_id != token.subject:
        raise ForbiddenError("The access token's consent does not exist for this wallet.", path="consent_id")
    return consent


def _check_status(consent: Consent, now: datetime) -> None:
    if consent.status is ConsentStatus.PAUSED:
        raise InvalidConsentStatusError("The user has paused this consent; access resumes when the user resumes it.")
    if consent.status is not ConsentStatus.AUTHORISED:
        raise InvalidConsentStatusError(f"The consent's status is {consent.status.value}; only AUTH allows access.")
    if consent.expires_at is not None and _utc(consent.expires_at) <= now:
        raise InvalidConsentStatusError(f"The consent expired at {_utc(consent.expires_at).isoformat()}.")


def _accounts(call: Call, consent: Consent) -> tuple[str, ...]:
    param = call.operation.account_parameter if call.operation else None
    if param is None:
        return consent.account_ids
    account_id = call.path_params.get(param, "")
    if account_id not in consent.account_ids:
        raise ResourceNotFoundError(f"No account {account_id}.", path=param)
    return (account_id,)


def _clip_window(call: Call, consent: Consent) -> None:
    given_from, given_to = _requested(call, FROM), _requested(call, TO)
    allowed_from = _utc(consent.transaction_from) if consent.transaction_from else None
    allowed_to = _utc(consent.transaction_to) if consent.transaction_to else None
    start = _later(given_from, allowed_from)
    end = _earlier(given_to, allowed_to)
    if start is not None and end is not None and start > end:
        raise ForbiddenError(
            "The requested booking window lies wholly outside the consent's transaction window.",
            path=FROM if given_from is not None and allowed_to is not None and given_from > allowed_to else TO,
        )
    call.window = (start, end)
    query = dict(call.query)
    for name, value in ((FROM, start), (TO, end)):
        if value is not None:
            query[name] = value.replace(tzinfo=None).isoformat(timespec="seconds")  # four-digit years, always
    call.upstream_query = query


def _requested(call: Call, name: str) -> datetime | None:
    text = call.query.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FieldInvalidDateError(f"{name} is not an ISO 8601 date-time.", path=name) from None
    # UK OB: the bank ignores any time-zone component of these parameters.
    return value.replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
