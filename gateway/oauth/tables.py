"""The authorization server's tables: pushed requests, codes, refresh tokens, issued access tokens.

They register on the one ``consent.db.metadata``; migration ``0002`` creates them with explicit
``op.create_table`` calls that mirror these definitions. Times are UNIX seconds (floats), the
clock the gateway injects. Codes and refresh tokens are stored only as SHA-256 hashes.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, String, Table, Text

from consent.db import metadata

par_requests = Table(
    "oauth_par_requests",
    metadata,
    Column("request_uri", String(128), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("params", JSON, nullable=False),  # the validated authorization request
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),  # set once, when /authorize redeems it
    Column("user_id", String(64), nullable=True),  # the user it was shown to
    Column("decided_at", Float, nullable=True),  # set once, on approve or reject
)

codes = Table(
    "oauth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("consent_id", String(128), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("dpop_jkt", String(64), nullable=True),
    Column("scope", Text, nullable=False),
    Column("nonce", String(255), nullable=True),
    Column("auth_time", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),
)

refresh_tokens = Table(
    "oauth_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("consent_id", String(128), nullable=False),
    Column("grant_id", String(64), nullable=False),  # the code hash it was first issued for
    Column("scope", Text, nullable=False),
    Column("cnf_jkt", String(64), nullable=True),
    Column("cnf_x5t", String(64), nullable=True),
    Column("issued_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Index("ix_oauth_refresh_tokens_consent_id", "consent_id"),
    Index("ix_oauth_refresh_tokens_grant_id", "grant_id"),
    Index("ix_oauth_refresh_tokens_client_id", "client_id"),  # migration 0009
)

access_tokens = Table(
    "oauth_access_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("consent_id", String(128), nullable=True),
    Column("grant_id", String(64), nullable=True),
    Column("expires_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Index("ix_oauth_access_tokens_consent_id", "consent_id"),
    Index("ix_oauth_access_tokens_grant_id", "grant_id"),
    Index("ix_oauth_access_tokens_expires_at", "expires_at"),
    Index("ix_oauth_access_tokens_client_id", "client_id"),  # migration 0009
)

OAUTH_TABLES = (par_requests, codes, refresh_tokens, access_tokens)
