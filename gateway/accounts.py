"""Ask the bank which accounts a user holds, so the authorization screen can offer them.

This is the one upstream call made without a consent: the gateway assertion carries
``consent_id: null`` and ``accounts: ["*"]``, which the bank accepts only for this listing.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from gateway.assertion import ASSERTION_HEADER, mint_assertion
from gateway.errors import UpstreamError
from gateway.services import Services

ACCOUNTS_PATH = "/open-banking/v4.0/aisp/accounts"
_TIMEOUT = aiohttp.ClientTimeout(total=10)


async def list_user_accounts(
    services: Services, user_id: str, client_id: str, interaction_id: str
) -> list[dict[str, Any]]:
    """The user's accounts as the bank lists them (UK OB ``OBAccount6`` objects)."""
    settings = services.settings
    upstream = settings.upstream_url.rstrip("/")
    assertion = mint_assertion(
        services.keys,
        issuer=settings.issuer_url,
        audience=upstream,
        user_id=user_id,
        client_id=client_id,
        consent_id=None,
        accounts=["*"],
        permissions=["ReadAccountsBasic", "ReadAccountsDetail"],
        purposes=[],
        interaction_id=interaction_id,
        now=services.clock(),
    )
    headers = {ASSERTION_HEADER: assertion, "x-fapi-interaction-id": interaction_id, "Accept": "application/json"}
    try:
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.get(upstream + ACCOUNTS_PATH, headers=headers) as response,
        ):
            if response.status != 200:
                raise UpstreamError(f"the bank answered HTTP {response.status} when listing the user's accounts")
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError):
        raise UpstreamError("the bank could not be reached to list the user's accounts") from None
    accounts = body.get("Data", {}).get("Account", []) if isinstance(body, dict) else None
    if not isinstance(accounts, list) or not all(isinstance(a, dict) and a.get("AccountId") for a in accounts):
        raise UpstreamError("the bank's account list is not an OB account list")
    return accounts
