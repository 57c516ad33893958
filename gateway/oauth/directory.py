"""The trusted software-statement directory: its keys, and minting and checking statements.

Registration (RFC 7591 §2.3) trusts a wallet only through a ``software_statement`` JWT signed
by the directory whose public JWK set is ``settings.directory_jwks_file``. Demo mode keeps a
demo directory in ``DATA_DIR/directory/``: a private JWK set (to mint statements with
``walletgate directory issue-ssa``) and its public half (what the gateway trusts).

A statement may use RFC 7591's metadata names or those of the UK Open Banking Directory's SSA
(``software_redirect_uris``, ``software_client_name``, ``software_jwks_endpoint``, and
``software_roles``); ``statement_metadata`` reads either under the RFC 7591 names.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jwt

from gateway.errors import OAuthError
from gateway.oauth.keys import SIGNING_ALGORITHMS, generate_jwk, public_jwk, read_jwk_set, write_private_file
from gateway.settings import Settings

DEMO_DIRECTORY_ISSUER = "walletgate-demo-directory"
STATEMENT_LIFETIME = 24 * 3600  # seconds a demo statement stays valid
_PRIVATE_FILE = "directory.private.jwks.json"
_PUBLIC_FILE = "directory.jwks.json"
# UK Open Banking Directory SSA claims and the RFC 7591 client metadata they stand for. Only the
# metadata the client model keeps: its software_client_uri, software_logo_uri, software_tos_uri
# and software_policy_uri have RFC names (client_uri, ...) that registration does not store.
UK_OB_CLAIMS: Mapping[str, str] = {
    "software_redirect_uris": "redirect_uris",
    "software_client_name": "client_name",
    "software_jwks_endpoint": "jwks_uri",
}


class InvalidSoftwareStatementError(OAuthError):
    """RFC 7591 §3.2.2 invalid_software_statement."""

    oauth_error, message = "invalid_software_statement", "The software statement is invalid."


class DirectoryKeyError(Exception):
    """The directory's key files are missing or unusable (a set-up problem, not a request's)."""


def demo_directory_files(data_dir: Path) -> tuple[Path, Path]:
    """(private JWK set, public JWK set) of the demo directory in ``data_dir``."""
    folder = data_dir / "directory"
    return folder / _PRIVATE_FILE, folder / _PUBLIC_FILE


def ensure_demo_directory(data_dir: Path, alg: str = "ES256") -> Path:
    """Create the demo directory's key pair when missing; return the public JWK set's path."""
    private, public = demo_directory_files(data_dir)
    if not private.exists():
        private.parent.mkdir(parents=True, exist_ok=True)
        key = generate_jwk(alg)
        write_private_file(private, {"keys": [key]})
        public.write_text(json.dumps({"keys": [public_jwk(key) | {"use": "sig", "alg": alg}]}, indent=2))
    elif not public.exists():
        keys = _read_jwks(private)["keys"]
        public.write_text(json.dumps({"keys": [public_jwk(k) for k in keys]}, indent=2))
    return public


def trusted_directory_jwks(settings: Settings) -> dict[str, Any]:
    """The public JWK set registration trusts: the configured file, or the demo directory's."""
    if settings.directory_jwks_file is not None:
        return _read_jwks(settings.directory_jwks_file)
    if not settings.demo:
        raise DirectoryKeyError("no directory_jwks_file configured; production mode needs one")
    return _read_jwks(ensure_demo_directory(settings.data_dir))


def _read_jwks(path: Path) -> dict[str, Any]:
    return read_jwk_set(path, DirectoryKeyError, "directory key file")


def issue_software_statement(
    data_dir: Path,
    *,
    redirect_uris: Sequence[str],
    jwks: Mapping[str, Any] | None = None,
    jwks_uri: str | None = None,
    tls_client_auth_subject_dn: str | None = None,
    token_endpoint_auth_method: str | None = None,
    client_name: str = "Demo Wallet",
    software_id: str | None = None,
    now: float | None = None,
    lifetime: int = STATEMENT_LIFETIME,
    issuer: str = DEMO_DIRECTORY_ISSUER,
) -> str:
    """A software statement signed by the demo directory's private key in ``data_dir``."""
    private, _ = demo_directory_files(data_dir)
    if not private.exists():
        raise DirectoryKeyError(f"{private}: no demo directory key here; start the gateway in demo mode once")
    key = _read_jwks(private)["keys"][0]
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": uuid.uuid4().hex,
        "software_id": software_id or uuid.uuid4().hex,
        "client_name": client_name,
        "redirect_uris": list(redirect_uris),
    }
    if jwks is not None:
        claims["jwks"] = dict(jwks)
    if jwks_uri is not None:
        claims["jwks_uri"] = jwks_uri
    if tls_client_auth_subject_dn is not None:
        claims["tls_client_auth_subject_dn"] = tls_client_auth_subject_dn
    if token_endpoint_auth_method is not None:
        claims["token_endpoint_auth_method"] = token_endpoint_auth_method
    signer = jwt.PyJWK(key)
    return jwt.encode(claims, signer.key, algorithm=key["alg"], headers={"kid": key["kid"], "typ": "JWT"})


def verify_software_statement(
    statement: str,
    directory_jwks: Mapping[str, Any],
    *,
    issuer: str,
    now: float,
    leeway: float,
) -> dict[str, Any]:
    """The statement's claims once its signature, alg, iss, iat and exp are checked."""
    try:
        header = jwt.get_unverified_header(statement)
    except jwt.InvalidTokenError:  # DecodeError, and a kid that is not a string
        raise InvalidSoftwareStatementError("software_statement is not a JWT", path="software_statement") from None
    alg = header.get("alg")
    if alg not in SIGNING_ALGORITHMS:
        raise InvalidSoftwareStatementError(
            f"software_statement alg {alg!r} is not accepted; expected one of {', '.join(SIGNING_ALGORITHMS)}",
            path="software_statement",
        )
    key = _directory_key(directory_jwks, header.get("kid"), alg)
    try:
        claims: dict[str, Any] = jwt.decode(
            statement,
            key,
            algorithms=[alg],
            issuer=issuer,
            options={
                "require": ["iss", "iat", "exp"],
                "verify_aud": False,
                # Times are checked below against the gateway's clock, not the library's.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidIssuerError:
        raise InvalidSoftwareStatementError(
            f"software_statement iss is not the trusted directory {issuer!r}", path="software_statement.iss"
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidSoftwareStatementError(
            f"software_statement lacks the {exc.claim} claim", path=f"software_statement.{exc.claim}"
        ) from None
    except jwt.InvalidTokenError:
        raise InvalidSoftwareStatementError(
            "software_statement signature does not verify with the trusted directory's keys",
            path="software_statement",
        ) from None
    _check_times(claims, now, leeway)
    return claims


def statement_metadata(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The statement's claims under their RFC 7591 names (a UK OB SSA's names mapped by ``UK_OB_CLAIMS``).

    A statement that names one thing under both names must give it one value, and UK OB's
    ``software_redirect_uris`` and ``software_roles`` must be lists of strings.
    """
    metadata = dict(claims)
    for uk_name, rfc_name in UK_OB_CLAIMS.items():
        if uk_name not in claims:
            continue
        value = metadata.pop(uk_name)
        if rfc_name in claims and claims[rfc_name] != value:
            raise InvalidSoftwareStatementError(
                f"software_statement names both {rfc_name} and {uk_name}, with different values",
                path=f"software_statement.{uk_name}",
            )
        metadata[rfc_name] = value
    for name in ("software_redirect_uris", "software_roles"):
        value = claims.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidSoftwareStatementError(
                f"software_statement {name} must be a list of strings", path=f"software_statement.{name}"
            )
    return metadata


def _check_times(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    iat, exp = claims["iat"], claims["exp"]
    if any(isinstance(v, bool) or not isinstance(v, int | float) or _not_finite(v) for v in (iat, exp)):
        # NaN (which Python's JSON reads) compares false with everything: such a statement would never expire.
        raise InvalidSoftwareStatementError(
            "software_statement iat and exp must be finite numbers", path="software_statement"
        )
    if exp <= now - leeway:
        raise InvalidSoftwareStatementError("software_statement has expired", path="software_statement.exp")
    if iat > now + leeway:
        raise InvalidSoftwareStatementError(
            "software_statement is not valid yet (iat in the future)", path="software_statement.iat"
        )


def _not_finite(value: float) -> bool:
    return isinstance(value, float) and not math.isfinite(value)  # an int is finite (and may be too big for a float)


def _directory_key(directory_jwks: Mapping[str, Any], kid: Any, alg: str) -> Any:
    keys = [k for k in directory_jwks.get("keys", []) if isinstance(k, dict)]
    candidates = [k for k in keys if k.get("kid") == kid] if kid is not None else keys[:1] if len(keys) == 1 else []
    if not candidates:
        raise InvalidSoftwareStatementError(
            f"software_statement kid {kid!r} is not a key of the trusted directory", path="software_statement"
        )
    jwk = candidates[0]
    if jwk.get("alg") not in (None, alg):
        raise InvalidSoftwareStatementError(
            f"software_statement alg {alg} does not match the directory key's alg {jwk['alg']}",
            path="software_statement",
        )
    try:
        return jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWKError, ValueError, KeyError):
        raise InvalidSoftwareStatementError(
            "software_statement alg does not fit the trusted directory's key", path="software_statement"
        ) from None
