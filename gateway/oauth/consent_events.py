"""Revoke a consent's tokens when it leaves Authorised for good (revoked, expired, rejected).

Subscribed to ``consent.changes.ConsentChanges``: the refresh tokens issued under the consent
are revoked in the database and its live access tokens' ``jti``s go on the deny-list, which
reaches every replica through Redis when configured.
"""

from __future__ import annotations

from consent.model import Consent, ConsentStatus
from gateway.clock import Clock
from gateway.oauth.revocation import RevocationList, revoke_tokens
from gateway.oauth.store import OAuthStore

FINAL = frozenset({ConsentStatus.REVOKED, ConsentStatus.EXPIRED, ConsentStatus.REJECTED})


class ConsentTokenRevoker:
    def __init__(self, store: OAuthStore, revocation: RevocationList, clock: Clock) -> None:
        self.store = store
        self.revocation = revocation
        self.clock = clock

    async def __call__(self, consent: Consent) -> None:
        if consent.status not in FINAL:
            return
        await revoke_tokens(self.store, self.revocation, now=self.clock(), consent_id=consent.consent_id)
