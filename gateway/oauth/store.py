"""SQL storage for the authorization server's one-time and long-lived grants.

Single use is enforced by the database: redeeming is one ``UPDATE … WHERE used_at IS NULL``,
so two replicas racing on the same code or ``request_uri`` cannot both win. When a redeem
fails, a second read says why, so the refusal can be precise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.oauth.errors import InvalidGrantError, InvalidRequestUriError
from gateway.oauth.tables import access_tokens, codes, par_requests, refresh_tokens


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret, the form in which secrets are stored and compared.

    Codes, refresh tokens, registration access tokens, login-challenge verifiers and bindings.
    """
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class CodeGrant:
    """What an authorization code was issued for."""

    code_hash: str
    client_id: str
    user_id: str
    consent_id: str
    redirect_uri: str
    code_challenge: str
    dpop_jkt: str | None
    scope: str
    nonce: str | None
    auth_time: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    token_hash: str
    client_id: str
    user_id: str
    consent_id: str
    grant_id: str
    scope: str
    cnf_jkt: str | None
    cnf_x5t: str | None
    revoked_at: float | None


_NOT_OPEN = "this authorization request was already answered, has expired, or belongs to another user"


class CodeReusedError(InvalidGrantError):
    """The code was redeemed before; what it issued has been revoked."""

    def __init__(self, message: str, *, grant_id: str) -> None:
        super().__init__(message, path="code")
        self.grant_id = grant_id


class OAuthStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- pushed authorization requests -------------------------------------------------------
    async def create_par(self, request_uri: str, client_id: str, params: dict[str, Any], expires_at: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(par_requests).values(
                    request_uri=request_uri, client_id=client_id, params=params, expires_at=expires_at
                )
            )

    async def redeem_par(self, request_uri: str, client_id: str, user_id: str, now: float) -> dict[str, Any]:
        """Spend a request_uri for ``user_id``; refuses unknown, foreign, expired and used ones."""
        table = par_requests
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(table)
                .where(
                    and_(
                        table.c.request_uri == request_uri,
                        table.c.client_id == client_id,
                        table.c.used_at.is_(None),
                        table.c.expires_at > now,
                    )
                )
                .values(used_at=now, user_id=user_id)
            )
            row = (await conn.execute(select(table).where(table.c.request_uri == request_uri))).first()
        if done.rowcount == 1 and row is not None:
            return dict(row.params)
        if row is None:
            raise InvalidRequestUriError("request_uri is unknown", path="request_uri")
        if row.client_id != client_id:
            raise InvalidRequestUriError("request_uri was pushed by another client", path="request_uri")
        if row.used_at is not None:
            raise InvalidRequestUriError("request_uri was already used", path="request_uri")
        raise InvalidRequestUriError("request_uri has expired", path="request_uri")

    async def shown_par(self, request_uri: str, user_id: str, shown_since: float) -> dict[str, Any]:
        """The parameters of a request shown to ``user_id`` and not yet answered."""
        query = select(par_requests.c.params).where(_open_for(request_uri, user_id, shown_since))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise InvalidRequestUriError(_NOT_OPEN, path="request_uri")
        return dict(row.params)

    async def decide_par(self, request_uri: str, user_id: str, now: float, shown_since: float) -> dict[str, Any]:
        """Close a shown request once (approve or reject) for the user it was shown to."""
        table = par_requests
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(table).where(_open_for(request_uri, user_id, shown_since)).values(decided_at=now)
            )
            row = (await conn.execute(select(table.c.params).where(table.c.request_uri == request_uri))).first()
        if done.rowcount != 1 or row is None:
            raise InvalidRequestUriError(_NOT_OPEN, path="request_uri")
        return dict(row.params)

    # -- authorization codes -----------------------------------------------------------------
    async def create_code(self, grant: CodeGrant) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(codes).values(**_fields(grant)))

    async def redeem_code(self, code: str, now: float) -> CodeGrant:
        """Spend a code. A second redeem raises ``CodeReusedError`` (the caller revokes the grant)."""
        code_hash = digest(code)
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(codes).where(and_(codes.c.code_hash == code_hash, codes.c.used_at.is_(None))).values(used_at=now)
            )
            row = (await conn.execute(select(codes).where(codes.c.code_hash == code_hash))).first()
        if row is None:
            raise InvalidGrantError("the authorization code is unknown", path="code")
        if done.rowcount != 1:
            raise CodeReusedError(
                "the authorization code was already used; the tokens issued for it are revoked", grant_id=code_hash
            )
        values = {name: getattr(row, name) for name in CodeGrant.__slots__}
        return CodeGrant(**values)

    # -- refresh tokens ----------------------------------------------------------------------
    async def create_refresh(self, grant: RefreshGrant, issued_at: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(refresh_tokens).values(**_fields(grant), issued_at=issued_at))

    async def get_refresh(self, token: str) -> RefreshGrant | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == digest(token)))
            ).first()
        if row is None:
            return None
        return RefreshGrant(**{name: getattr(row, name) for name in RefreshGrant.__slots__})

    async def revoke_refresh(self, token_hash: str, now: float) -> bool:
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(refresh_tokens)
                .where(and_(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
        return done.rowcount == 1

    # -- issued access tokens ----------------------------------------------------------------
    async def record_access(
        self, jti: str, client_id: str, consent_id: str | None, grant_id: str | None, expires_at: float
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(access_tokens).values(
                    jti=jti,
                    client_id=client_id,
                    consent_id=consent_id,
                    grant_id=grant_id,
                    expires_at=expires_at,
                    revoked=False,
                )
            )

    async def mark_access_revoked(self, jti: str, client_id: str, expires_at: float) -> None:
        """Record a revoked access token, whether or not its issue was recorded."""
        async with self.engine.begin() as conn:
            done = await conn.execute(update(access_tokens).where(access_tokens.c.jti == jti).values(revoked=True))
            if done.rowcount == 0:
                await conn.execute(
                    insert(access_tokens).values(jti=jti, client_id=client_id, expires_at=expires_at, revoked=True)
                )

    async def revoke_by(
        self, *, now: float, consent_id: str | None = None, grant_id: str | None = None
    ) -> list[tuple[str, float]]:
        """Revoke every refresh token and live access token of a consent or of a grant.

        Returns the (jti, exp) of the access tokens, for the deny-list.
        """
        if (consent_id is None) == (grant_id is None):
            raise ValueError("give exactly one of consent_id or grant_id")
        rt_match = refresh_tokens.c.consent_id == consent_id if consent_id else refresh_tokens.c.grant_id == grant_id
        at_match = access_tokens.c.consent_id == consent_id if consent_id else access_tokens.c.grant_id == grant_id
        live = and_(at_match, access_tokens.c.expires_at > now)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(refresh_tokens)
                .where(and_(rt_match, refresh_tokens.c.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
            rows = (await conn.execute(select(access_tokens.c.jti, access_tokens.c.expires_at).where(live))).all()
            await conn.execute(update(access_tokens).where(live).values(revoked=True))
        return [(row.jti, row.expires_at) for row in rows]

    async def revoke_client(self, client_id: str, *, now: float) -> list[tuple[str, float]]:
        """Revoke everything a deregistered client holds, in one transaction (RFC 7592 §2.3).

        Its refresh tokens and live access tokens are marked revoked, and its pushed requests and
        codes deleted (none may be redeemed, even if the client_id were registered again).
        Returns the (jti, exp) of the access tokens, for the deny-list.
        """
        live = and_(access_tokens.c.client_id == client_id, access_tokens.c.expires_at > now)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(refresh_tokens)
                .where(and_(refresh_tokens.c.client_id == client_id, refresh_tokens.c.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
            rows = (await conn.execute(select(access_tokens.c.jti, access_tokens.c.expires_at).where(live))).all()
            await conn.execute(update(access_tokens).where(live).values(revoked=True))
            for table in (par_requests, codes):
                await conn.execute(delete(table).where(table.c.client_id == client_id))
        return [(row.jti, row.expires_at) for row in rows]

    async def sweep(self, before: float) -> int:
        """Delete codes, pushed requests and access-token records that expired before ``before``, and
        refresh tokens revoked before it: a refresh token has no expiry of its own (it lives as long as its
        consent), so revocation is its end, and one presented after its row is gone is refused as unknown
        (the same ``invalid_grant``)."""
        removed = 0
        async with self.engine.begin() as conn:
            for table in (codes, par_requests, access_tokens):
                result = await conn.execute(delete(table).where(table.c.expires_at < before))
                removed += result.rowcount
            result = await conn.execute(delete(refresh_tokens).where(refresh_tokens.c.revoked_at < before))
            removed += result.rowcount
        return removed

    async def revoked_access(self, now: float) -> list[tuple[str, float]]:
        """Revoked access tokens that have not expired (to seed the deny-list at start-up)."""
        query = select(access_tokens.c.jti, access_tokens.c.expires_at).where(
            and_(access_tokens.c.revoked.is_(True), access_tokens.c.expires_at > now)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(row.jti, row.expires_at) for row in rows]


def _open_for(request_uri: str, user_id: str, shown_since: float) -> ColumnElement[bool]:
    """A pushed request shown to ``user_id`` after ``shown_since`` and not answered yet."""
    table = par_requests
    return and_(
        table.c.request_uri == request_uri,
        table.c.user_id == user_id,
        table.c.used_at > shown_since,
        table.c.decided_at.is_(None),
    )


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in type(record).__slots__}
