"""``walletgate directory issue-ssa``: mint a software statement with the demo directory's key.

A wallet with its own keys registers at ``POST /register`` with the statement this prints (its
last line). A wallet that authenticates with its TLS client certificate (``tls_client_auth``,
RFC 8705) gets a statement naming the certificate's subject DN: without ``--jwks`` the statement
also names ``tls_client_auth`` as its token_endpoint_auth_method; with both, the wallet picks one
when it registers. The demo directory lives in ``DATA_DIR/directory/``; a real deployment trusts a
real directory (``WALLETGATE_DIRECTORY_JWKS_FILE``) and does not use this command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from gateway.cli import UserFacingError, read_json_file, settings_from_args
from gateway.oauth.directory import ensure_demo_directory, issue_software_statement
from gateway.oauth.keys import public_jwk


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("directory", help="the demo software-statement directory", description=__doc__.split("\n\n")[0])
    actions = p.add_subparsers(dest="directory_command", metavar="ACTION", required=True)
    issue = actions.add_parser(
        "issue-ssa",
        help="mint a software statement for a wallet's public keys",
        description="Print a software statement (last line) for a wallet, signed by the demo directory.",
    )
    issue.add_argument("--jwks", metavar="FILE", help="the wallet's JWK set (private members are dropped)")
    issue.add_argument(
        "--tls-client-auth-subject-dn",
        metavar="DN",
        help="the subject DN (RFC 4514) of the wallet's TLS client certificate, for tls_client_auth; "
        "without --jwks the statement names tls_client_auth as the wallet's auth method",
    )
    issue.add_argument(
        "--redirect-uri", required=True, action="append", dest="redirect_uris", metavar="URI", help="repeatable"
    )
    issue.add_argument("--name", default="Demo Wallet", help="client_name in the statement")
    issue.add_argument("--software-id", help="software_id (default: a new random id)")
    issue.add_argument("--data-dir", help="data folder holding the demo directory (WALLETGATE_DATA_DIR)")
    issue.set_defaults(handler=run_issue)


def read_public_jwks(path: Path) -> dict[str, Any]:
    """The public half of a JWK set file, keeping kid/alg/use; private members never leave."""
    data = read_json_file(path)
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) and "kty" in k for k in keys):
        raise UserFacingError(f"{path}: expected a JWK set with a non-empty 'keys' list")
    if any(k["kty"] == "oct" for k in keys):
        raise UserFacingError(f"{path}: symmetric keys cannot authenticate a wallet; use PS256, ES256 or EdDSA keys")
    return {"keys": [public_jwk(k) for k in keys]}


def _check_subject_dn(dn: str) -> None:
    try:
        valid = bool(x509.Name.from_rfc4514_string(dn))  # an empty name names no certificate
    except ValueError:
        valid = False
    if not valid:
        raise UserFacingError(
            f"--tls-client-auth-subject-dn {dn!r} is not an RFC 4514 distinguished name (e.g. CN=wallet,O=Ltd,C=GB)"
        )


def run_issue(args: argparse.Namespace) -> int:
    settings = settings_from_args(args, data_dir=args.data_dir)
    if not settings.demo:
        raise UserFacingError("the demo directory is for demo mode; production trusts a real directory")
    dn = args.tls_client_auth_subject_dn
    if args.jwks is None and dn is None:
        raise UserFacingError("name what the wallet authenticates with: --jwks FILE or --tls-client-auth-subject-dn DN")
    if dn is not None:
        _check_subject_dn(dn)
    jwks = read_public_jwks(Path(args.jwks)) if args.jwks is not None else None
    ensure_demo_directory(settings.data_dir)
    statement = issue_software_statement(
        settings.data_dir,
        redirect_uris=args.redirect_uris,
        jwks=jwks,
        tls_client_auth_subject_dn=dn,
        token_endpoint_auth_method="tls_client_auth" if jwks is None else None,
        client_name=args.name,
        software_id=args.software_id,
        issuer=settings.directory_issuer,
    )
    print(f"software statement for {args.name!r} (iss {settings.directory_issuer}):", file=sys.stderr)
    print(statement)
    return 0
