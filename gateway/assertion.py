"""Mint the signed assertion that tells the bank who is asking and what the call may see.

The gateway sends it to the upstream in the ``x-walletgate-assertion`` header: a JWT with
header ``typ`` ``wg-assertion+jwt``, signed by the gateway's current key and verified by the
bank against the gateway's JWKS (``{issuer}/jwks``). Claims:

``iss`` the gateway's issuer URL; ``aud`` the upstream base URL; ``iat``/``exp`` (at most 60 s
apart); ``jti`` (single use); ``sub`` the user id; ``client_id`` the wallet; ``consent_id``
(``null`` only for the account-selection call made while the user authorises a consent);
``accounts`` the AccountIds the call may see (``["*"]`` = every account of the user, allowed
only when ``consent_id`` is null); ``permissions``; ``purposes``; ``interaction_id``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from gateway.oauth.keys import KeyRing

ASSERTION_HEADER = "x-walletgate-assertion"
TYP = "wg-assertion+jwt"
ALL_ACCOUNTS = "*"
MAX_LIFETIME = 60


def mint_assertion(
    keys: KeyRing,
    *,
    issuer: str,
    audience: str,
    user_id: str,
    client_id: str,
    consent_id: str | None,
    accounts: Sequence[str],
    permissions: Iterable[str],
    purposes: Iterable[str],
    interaction_id: str,
    now: float,
    lifetime: int = MAX_LIFETIME,
) -> str:
    """A signed assertion for one upstream call. Raises ``ValueError`` on a contract breach."""
    if isinstance(accounts, str):
        raise ValueError("accounts must be a sequence of AccountIds, not a string")
    account_list = list(accounts)
    if ALL_ACCOUNTS in account_list:
        if consent_id is not None:
            raise ValueError('accounts ["*"] is allowed only for the account-selection call (consent_id None)')
        if account_list != [ALL_ACCOUNTS]:
            raise ValueError('accounts "*" cannot be combined with named AccountIds')
    if not 0 < lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime must be between 1 and {MAX_LIFETIME} seconds, got {lifetime}")
    if not user_id:
        raise ValueError("user_id is required")
    issued_at = int(now)
    claims = {
        "iss": issuer,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + lifetime,
        "jti": uuid.uuid4().hex,
        "sub": user_id,
        "client_id": client_id,
        "consent_id": consent_id,
        "accounts": account_list,
        "permissions": sorted(set(permissions)),
        "purposes": sorted(set(purposes)),
        "interaction_id": interaction_id,
    }
    return keys.sign(claims, typ=TYP)
