"""The identity tables: registered clients, built-in users, login attempts, login challenges.

They register on the one ``consent.db.metadata``; migration ``0003`` creates them with
explicit ``op.create_table`` calls that mirror these definitions.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Index, String, Table, Text

from consent.db import metadata

clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("client_name", String(200), nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("token_endpoint_auth_method", String(32), nullable=False),
    Column("jwks", JSON, nullable=True),
    Column("jwks_uri", Text, nullable=True),
    Column("tls_client_auth_subject_dn", Text, nullable=True),
    Column("grant_types", JSON, nullable=False),
    Column("scope", Text, nullable=False),
    Column("default_purpose", String(64), nullable=False),
    Column("software_id", String(200), nullable=True),
    Column("token_endpoint_auth_signing_alg", String(16), nullable=True),
    Column("id_token_signed_response_alg", String(16), nullable=False),
    Column("dpop_bound_access_tokens", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # SHA-256 (hex) of the RFC 7592 registration access token; the token itself is never stored.
    Column("registration_token_hash", String(64), nullable=True),
)

users = Table(
    "identity_users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per login attempt that has not succeeded, kept for the throttle window, under
# "user:<id>" and "ip:<addr>".
login_failures = Table(
    "identity_login_failures",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key", String(200), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_identity_login_failures_key_at", "key", "at"),
)

# Delegated-login challenges (Hydra style): created by /login, settled by the bank's admin call,
# consumed once by the redirect back.
login_challenges = Table(
    "identity_login_challenges",
    metadata,
    Column("challenge", String(64), primary_key=True),
    Column("next_path", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("state", String(16), nullable=False),  # pending | accepted | rejected | used
    Column("subject", String(64), nullable=True),
    Column("verifier_hash", String(64), nullable=True),
    # Hash of the random value in the browser's login cookie: only the browser that started the
    # challenge can finish it, so an accepted challenge cannot be replayed into another browser.
    Column("binding_hash", String(64), nullable=False),
    Column("error", Text, nullable=True),
)

# Server-side portal sessions; the cookie holds a random id, the table only its SHA-256.
sessions = Table(
    "identity_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=True),  # None: an anonymous session (login form, CSRF)
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_identity_sessions_expires_at", "expires_at"),
)

IDENTITY_TABLES = (clients, users, login_failures, login_challenges, sessions)
