"""An mTLS wallet (RFC 8705 tls_client_auth) registers through ``POST /register`` with a statement from
``walletgate directory issue-ssa --tls-client-auth-subject-dn`` and authenticates with its certificate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.cli import main
from gateway.clock import FrozenClock
from gateway.oauth.mtls import x5t_s256
from tests.security.oauth.conftest import refused
from tests.security.oauth.deregistration import running_stack
from tests.unit.identity.certs import forwarded, make_certificate
from tests.unit.oauth.harness import ISSUER, REDIRECT_URI, Gateway

SUBJECT_DN = "CN=mtls-wallet,O=Wallet Ltd,C=GB"


@pytest.fixture
def stack(tmp_path, settings_factory) -> Iterator[Gateway]:
    yield from running_stack(tmp_path, settings_factory, FrozenClock(time.time()))  # the CLI signs with real time


def issue_ssa(gateway: Gateway, capsys, *args: str) -> str:
    data_dir = str(gateway.services.settings.data_dir)
    command = ["directory", "issue-ssa", "--redirect-uri", REDIRECT_URI, "--data-dir", data_dir, *args]
    assert main(command) == 0
    return str(capsys.readouterr().out.strip().splitlines()[-1])


def register_mtls_wallet(gateway: Gateway, capsys) -> str:
    statement = issue_ssa(gateway, capsys, "--tls-client-auth-subject-dn", SUBJECT_DN)
    body = {"software_statement": statement, "dpop_bound_access_tokens": False}
    response = gateway.http.post("/register", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["token_endpoint_auth_method"] == "tls_client_auth"
    return str(response.json()["client_id"])


def token(gateway: Gateway, client_id: str, cert) -> Any:
    form = {"grant_type": "client_credentials", "client_id": client_id, "scope": "accounts"}
    return gateway.http.post("/token", data=form, headers={"x-ssl-client-cert": forwarded(cert)})


def test_a_wallet_registered_with_a_subject_dn_statement_authenticates_with_its_certificate(stack, capsys):
    client_id = register_mtls_wallet(stack, capsys)
    cert = make_certificate("mtls-wallet", org="Wallet Ltd")
    response = token(stack, client_id, cert)
    assert response.status_code == 200, response.text
    claims = stack.services.keys.verify(response.json()["access_token"], typ="at+jwt", audience=ISSUER, issuer=ISSUER)
    assert claims["client_id"] == client_id
    assert claims["cnf"] == {"x5t#S256": x5t_s256(cert)}


def test_a_wallet_registered_with_a_subject_dn_statement_is_refused_with_another_certificate(stack, capsys):
    client_id = register_mtls_wallet(stack, capsys)
    response = token(stack, client_id, make_certificate("impostor", org="Wallet Ltd"))
    refused(response, 401, "invalid_client", "subject is not the registered one")
