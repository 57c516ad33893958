from __future__ import annotations

import json
import time

import pytest

from consent.migrate import upgrade
from gateway.cli import main
from gateway.oauth.directory import DEMO_DIRECTORY_ISSUER, demo_directory_files, verify_software_statement
from gateway.oauth.keys import generate_jwk, public_jwk


@pytest.fixture
def wallet_jwks_file(tmp_path):
    path = tmp_path / "wallet.jwks.json"
    private = generate_jwk("ES256")
    path.write_text(json.dumps({"keys": [private]}))
    return path, private


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)  # the whole schema, as `walletgate migrate` leaves it: deleting a client revokes its consents
    return url


def test_issue_ssa_prints_a_statement_the_demo_directory_vouches_for(tmp_path, capsys, wallet_jwks_file):
    path, private = wallet_jwks_file
    args = ["directory", "issue-ssa", "--jwks", str(path), "--redirect-uri", "https://w.example/cb"]
    assert main([*args, "--name", "My Wallet", "--data-dir", str(tmp_path / "data")]) == 0
    statement = capsys.readouterr().out.strip().splitlines()[-1]
    trusted = json.loads(demo_directory_files(tmp_path / "data")[1].read_text())
    claims = verify_software_statement(statement, trusted, issuer=DEMO_DIRECTORY_ISSUER, now=time.time(), leeway=5)
    assert claims["client_name"] == "My Wallet"
    assert claims["redirect_uris"] == ["https://w.example/cb"]
    assert claims["jwks"] == {"keys": [public_jwk(private)]}
    assert "d" not in claims["jwks"]["keys"][0]


def test_issue_ssa_refuses_a_symmetric_key(tmp_path, capsys):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    code = main(["directory", "issue-ssa", "--jwks", str(path), "--redirect-uri", "https://w.example/cb"])
    assert code == 2
    assert "symmetric keys" in capsys.readouterr().err


def test_clients_register_and_list(tmp_path, capsys, database):
    jwks = tmp_path / "pub.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(generate_jwk("ES256"))]}))
    common = ["--database-url", database, "--data-dir", str(tmp_path / "data")]
    args = ["clients", "register", "--name", "Bank Wallet", "--redirect-uri", "https://w.example/cb"]
    assert main([*args, "--jwks", str(jwks), *common]) == 0
    client_id = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["clients", "list", *common]) == 0
    listing = capsys.readouterr().out
    assert client_id in listing
    assert "Bank Wallet" in listing
    assert main(["clients", "show", client_id, *common]) == 0
    assert json.loads(capsys.readouterr().out)["redirect_uris"] == ["https://w.example/cb"]
    assert main(["clients", "delete", client_id, *common]) == 0
    assert main(["clients", "show", client_id, *common]) == 2


def test_clients_register_refuses_bad_metadata_naming_the_field(tmp_path, capsys, database):
    jwks = tmp_path / "pub.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(generate_jwk("ES256"))]}))
    args = ["clients", "register", "--name", "W", "--redirect-uri", "http://w.example/cb", "--jwks", str(jwks)]
    assert main([*args, "--database-url", database]) == 2
    assert "redirect_uris[0]" in capsys.readouterr().err


def test_clients_register_tls_client_auth(tmp_path, capsys, database):
    args = ["clients", "register", "--name", "W", "--redirect-uri", "https://w.example/cb"]
    args += ["--auth-method", "tls_client_auth", "--subject-dn", "CN=w,O=W Ltd,C=GB", "--database-url", database]
    assert main(args) == 0
    client_id = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["clients", "show", client_id, "--database-url", database]) == 0
    assert json.loads(capsys.readouterr().out)["tls_client_auth_subject_dn"] == "CN=w,O=W Ltd,C=GB"


def test_clients_list_on_an_unmigrated_database_explains(tmp_path, capsys):
    assert main(["clients", "list", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"]) == 2
    assert "walletgate migrate" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["list"], ["show", "some-wallet"]])
def test_clients_commands_on_an_unreachable_database_say_so_in_one_line(tmp_path, capsys, command):
    url = "postgresql://postgres@127.0.0.1:1/walletgate"  # nothing listens on port 1
    assert main(["clients", *command, "--database-url", url, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("walletgate: cannot reach the database (WALLETGATE_DATABASE_URL): ConnectionRefusedError: ")
    assert err.count("\n") == 1
