"""``walletgate directory issue-ssa --tls-client-auth-subject-dn``: a statement for a wallet that
authenticates with its TLS client certificate (RFC 8705 tls_client_auth)."""

from __future__ import annotations

import json
import time
from typing import Any

from gateway.cli import main
from gateway.oauth.directory import DEMO_DIRECTORY_ISSUER, demo_directory_files, verify_software_statement
from gateway.oauth.keys import generate_jwk, public_jwk

SUBJECT_DN = "CN=mtls-wallet,O=Wallet Ltd,C=GB"


def _issue(tmp_path, *args: str) -> int:
    command = ["directory", "issue-ssa", "--redirect-uri", "https://w.example/cb"]
    return main([*command, "--data-dir", str(tmp_path / "data"), *args])


def _claims(tmp_path, capsys) -> dict[str, Any]:
    statement = capsys.readouterr().out.strip().splitlines()[-1]
    trusted = json.loads(demo_directory_files(tmp_path / "data")[1].read_text())
    return verify_software_statement(statement, trusted, issuer=DEMO_DIRECTORY_ISSUER, now=time.time(), leeway=5)


def test_issue_ssa_with_only_a_subject_dn_names_it_and_the_tls_client_auth_method(tmp_path, capsys):
    assert _issue(tmp_path, "--tls-client-auth-subject-dn", SUBJECT_DN) == 0
    claims = _claims(tmp_path, capsys)
    assert claims["tls_client_auth_subject_dn"] == SUBJECT_DN
    assert claims["token_endpoint_auth_method"] == "tls_client_auth"
    assert "jwks" not in claims


def test_issue_ssa_with_keys_and_a_subject_dn_leaves_the_method_to_the_wallet(tmp_path, capsys):
    jwks = tmp_path / "wallet.jwks.json"
    jwks.write_text(json.dumps({"keys": [generate_jwk("ES256")]}))
    assert _issue(tmp_path, "--jwks", str(jwks), "--tls-client-auth-subject-dn", SUBJECT_DN) == 0
    claims = _claims(tmp_path, capsys)
    assert claims["tls_client_auth_subject_dn"] == SUBJECT_DN
    assert claims["jwks"]["keys"][0]["kty"] == "EC"
    assert "token_endpoint_auth_method" not in claims


def test_issue_ssa_with_only_keys_names_no_subject_dn(tmp_path, capsys):
    jwks = tmp_path / "wallet.jwks.json"
    key = generate_jwk("ES256")
    jwks.write_text(json.dumps({"keys": [key]}))
    assert _issue(tmp_path, "--jwks", str(jwks)) == 0
    claims = _claims(tmp_path, capsys)
    assert claims["jwks"] == {"keys": [public_jwk(key)]}
    assert "tls_client_auth_subject_dn" not in claims
    assert "token_endpoint_auth_method" not in claims


def test_issue_ssa_refuses_a_subject_dn_that_is_not_an_rfc_4514_name(tmp_path, capsys):
    assert _issue(tmp_path, "--tls-client-auth-subject-dn", "mtls wallet") == 2
    err = capsys.readouterr().err
    assert "--tls-client-auth-subject-dn 'mtls wallet' is not an RFC 4514 distinguished name" in err


def test_issue_ssa_refuses_an_empty_subject_dn(tmp_path, capsys):
    assert _issue(tmp_path, "--tls-client-auth-subject-dn", "") == 2
    assert "--tls-client-auth-subject-dn '' is not an RFC 4514 distinguished name" in capsys.readouterr().err


def test_issue_ssa_needs_keys_or_a_subject_dn(tmp_path, capsys):
    assert _issue(tmp_path) == 2
    assert "--jwks FILE or --tls-client-auth-subject-dn DN" in capsys.readouterr().err
