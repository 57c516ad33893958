"""Deregister a wallet client and end at once everything it was granted (RFC 7592 §2.3).

``DELETE /register/{client_id}`` (the wallet itself) and ``walletgate clients delete`` (the
bank) both run ``deregister``, in this order:

1. each of the client's consents that is still live is revoked, as the act of whoever
   deregisters (the wallet, reason ``DEREGISTERED``; or the bank, ``DELETED_BY_BANK``), while
   the client is still registered (a failure here leaves a client that can be deleted again).
   The consent store publishes each revocation; its subscribers revoke the consent's tokens and
   tell every replica's consent cache;
2. the client is deleted: nothing more can be issued to it;
3. its remaining tokens (``client_credentials`` ones too) are revoked, their ``jti``s go on the
   deny-list, and its pushed requests and codes are dropped;
4. a consent it created between 1 and 2 is revoked as well.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from consent.errors import InvalidTransitionError
from consent.lifecycle import LIVE
from consent.model import Actor, ConsentPosition
from consent.sql import SqlConsentStore
from gateway.clock import Clock
from gateway.oauth.clients import ClientNotFoundError, ClientStore
from gateway.oauth.revocation import RevocationList, revoke_client_tokens
from gateway.oauth.store import OAuthStore

__all__ = ["DELETED_BY_BANK", "DEREGISTERED", "Deregistered", "Deregistration", "deregister"]

# Recorded on each consent a deregistration revokes: the wallet's own (RFC 7592), or the bank's command.
DEREGISTERED = "the wallet was deregistered (RFC 7592)"
DELETED_BY_BANK = "the bank deleted the wallet's registration"
_CONSENT_PAGE = 200


@dataclass(frozen=True, slots=True)
class Deregistration:
    """What deregistering touches. ``consents`` and ``tokens`` are None where they do not run
    (there is then nothing of theirs to end); ``consents`` must publish its changes to the token
    revoker and the consent caches, as the gateway's does."""

    clients: ClientStore
    consents: SqlConsentStore | None
    tokens: OAuthStore | None
    revocation: RevocationList  # the deny-list
    clock: Clock
    actor: Actor = Actor.WALLET  # who ends the consents: the wallet itself, or the bank (actor_id names it)
    actor_id: str | None = None  # None: the client itself
    reason: str = DEREGISTERED


@dataclass(frozen=True, slots=True)
class Deregistered:
    client_id: str
    consents_revoked: int


async def deregister(client_id: str, parts: Deregistration) -> Deregistered:
    """Deregister ``client_id`` as the module docstring says; ``ClientNotFoundError`` if it is not
    registered (before anything changes) or was deleted meanwhile."""
    if await parts.clients.get(client_id) is None:
        raise ClientNotFoundError(f"no client {client_id!r}")
    revoked = await _end_consents(parts, client_id)
    await parts.clients.delete(client_id)
    if parts.tokens is not None:
        await revoke_client_tokens(parts.tokens, parts.revocation, now=parts.clock(), client_id=client_id)
    revoked += await _end_consents(parts, client_id)
    return Deregistered(client_id, revoked)


async def _end_consents(parts: Deregistration, client_id: str) -> int:
    """Revoke each of the client's consents that is still live, as ``parts.actor``'s act; how many."""
    store, actor_id = parts.consents, parts.actor_id or client_id
    revoked = 0
    after: ConsentPosition | None = None
    while store is not None:  # by keyset: revoking one, or a consent created meanwhile, moves no page
        page = await store.list_for_client(client_id, limit=_CONSENT_PAGE, after=after)
        for consent in page.items:
            if consent.status in LIVE:
                with contextlib.suppress(InvalidTransitionError):  # it expired or was revoked meanwhile
                    await store.revoke(consent.consent_id, actor=parts.actor, actor_id=actor_id, reason=parts.reason)
                    revoked += 1
        if page.next is None:
            break
        after = page.next
    return revoked
