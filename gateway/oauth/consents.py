"""What the authorization server needs from the consent store, as a small protocol.

The consent package owns consents; the authorization server only reads one (to show it and
to check a refresh) and asks for the two transitions a user makes on the authorization
screen. ``consent_from_request`` reads the consent reference a wallet pushes with its PAR.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson

from consent.errors import ConsentNotFoundError
from consent.model import Consent
from gateway.oauth.errors import InvalidRequestError

AUTHORIZATION_DETAILS_TYPE = "account_access_consent"


class ConsentPort(Protocol):
    """The part of ``consent.store.ConsentStore`` the authorization server uses."""

    async def get(self, consent_id: str) -> Consent: ...

    async def authorise(
        self, consent_id: str, *, user_id: str, account_ids: Sequence[str], marketing_opt_in: bool = False
    ) -> Consent: ...

    async def reject(self, consent_id: str, *, user_id: str) -> Consent: ...


async def find_consent(consents: ConsentPort | None, consent_id: str) -> Consent | None:
    """The consent, or None when it does not exist (or no consent store is configured)."""
    if consents is None:
        return None
    try:
        return await consents.get(consent_id)
    except ConsentNotFoundError:
        return None


def consent_from_request(params: Mapping[str, str]) -> str:
    """The consent id named by ``authorization_details`` (RFC 9396), type ``account_access_consent``."""
    raw = params.get("authorization_details")
    if not raw:
        raise InvalidRequestError(
            f"authorization_details with one {AUTHORIZATION_DETAILS_TYPE!r} entry naming consent_id is required",
            path="authorization_details",
        )
    try:
        details: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequestError("authorization_details is not JSON", path="authorization_details") from None
    if not isinstance(details, list) or len(details) != 1 or not isinstance(details[0], dict):
        raise InvalidRequestError("authorization_details must be a list of one object", path="authorization_details")
    entry = details[0]
    if entry.get("type") != AUTHORIZATION_DETAILS_TYPE:
        raise InvalidRequestError(
            f"authorization_details[0].type must be {AUTHORIZATION_DETAILS_TYPE!r}",
            path="authorization_details[0].type",
        )
    consent_id = entry.get("consent_id")
    if not isinstance(consent_id, str) or not consent_id or len(consent_id) > 128:
        raise InvalidRequestError(
            "authorization_details[0].consent_id must be a string", path="authorization_details[0].consent_id"
        )
    return consent_id
