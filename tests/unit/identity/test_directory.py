from __future__ import annotations

import dataclasses
import json

import jwt
import pytest

from gateway.oauth.directory import (
    DEMO_DIRECTORY_ISSUER,
    DirectoryKeyError,
    InvalidSoftwareStatementError,
    demo_directory_files,
    ensure_demo_directory,
    issue_software_statement,
    trusted_directory_jwks,
    verify_software_statement,
)
from gateway.oauth.keys import generate_jwk, public_jwk

NOW = 1_790_000_000.0


@pytest.fixture
def directory(tmp_path):
    ensure_demo_directory(tmp_path)
    return tmp_path


def _wallet_jwks():
    return {"keys": [public_jwk(generate_jwk("ES256"))]}


def _verify(statement, data_dir, now=NOW):
    jwks = json.loads(demo_directory_files(data_dir)[1].read_text())
    return verify_software_statement(statement, jwks, issuer=DEMO_DIRECTORY_ISSUER, now=now, leeway=10)


def test_demo_directory_public_file_holds_no_private_key(directory):
    private, public = demo_directory_files(directory)
    assert "d" in json.loads(private.read_text())["keys"][0]
    assert "d" not in json.loads(public.read_text())["keys"][0]
    assert oct(private.stat().st_mode & 0o777) == "0o600"


def test_trusted_directory_jwks_comes_from_the_configured_file(settings_factory, tmp_path):
    path = tmp_path / "dir.jwks.json"
    path.write_text(json.dumps(_wallet_jwks()))
    settings = settings_factory(directory_jwks_file=str(path))
    assert trusted_directory_jwks(settings) == json.loads(path.read_text())


def test_issued_statement_verifies_and_carries_the_wallet_metadata(directory):
    jwks = _wallet_jwks()
    ssa = issue_software_statement(
        directory, redirect_uris=["https://w.example/cb"], jwks=jwks, client_name="W", now=NOW
    )
    claims = _verify(ssa, directory)
    assert claims["jwks"] == jwks
    assert claims["redirect_uris"] == ["https://w.example/cb"]
    assert claims["client_name"] == "W"
    assert claims["software_id"]


def test_statement_signed_by_another_key_is_refused(directory, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    ensure_demo_directory(other)
    forged = issue_software_statement(other, redirect_uris=["https://w.example/cb"], jwks=_wallet_jwks(), now=NOW)
    with pytest.raises(InvalidSoftwareStatementError, match=r"kid .* is not a key of the trusted directory"):
        _verify(forged, directory)


def test_statement_with_the_right_kid_but_wrong_signature_is_refused(directory):
    key = json.loads(demo_directory_files(directory)[0].read_text())["keys"][0]
    impostor = generate_jwk("ES256", kid=key["kid"])
    claims = {"iss": DEMO_DIRECTORY_ISSUER, "iat": int(NOW), "exp": int(NOW) + 60, "redirect_uris": []}
    forged = jwt.encode(claims, jwt.PyJWK(impostor).key, algorithm="ES256", headers={"kid": key["kid"]})
    with pytest.raises(InvalidSoftwareStatementError, match="signature does not verify"):
        _verify(forged, directory)


def test_expired_statement_is_refused(directory):
    ssa = issue_software_statement(directory, redirect_uris=["https://w.example/cb"], now=NOW, lifetime=60)
    with pytest.raises(InvalidSoftwareStatementError, match="has expired") as exc:
        _verify(ssa, directory, now=NOW + 120)
    assert exc.value.oauth_error == "invalid_software_statement"
    assert exc.value.path == "software_statement.exp"


def test_statement_from_the_future_is_refused(directory):
    ssa = issue_software_statement(directory, redirect_uris=["https://w.example/cb"], now=NOW + 600)
    with pytest.raises(InvalidSoftwareStatementError, match="not valid yet"):
        _verify(ssa, directory)


def test_statement_with_alg_none_is_refused(directory):
    claims = {"iss": DEMO_DIRECTORY_ISSUER, "iat": int(NOW), "exp": int(NOW) + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]  # unsigned is the point
    with pytest.raises(InvalidSoftwareStatementError, match="alg 'none' is not accepted"):
        _verify(unsigned, directory)


def test_statement_with_hs256_is_refused(directory):
    claims = {"iss": DEMO_DIRECTORY_ISSUER, "iat": int(NOW), "exp": int(NOW) + 60}
    token = jwt.encode(claims, "k" * 32, algorithm="HS256")
    with pytest.raises(InvalidSoftwareStatementError, match="alg 'HS256' is not accepted"):
        _verify(token, directory)


def test_statement_from_another_issuer_is_refused(directory):
    key = json.loads(demo_directory_files(directory)[0].read_text())["keys"][0]
    claims = {"iss": "someone-else", "iat": int(NOW), "exp": int(NOW) + 60}
    token = jwt.encode(claims, jwt.PyJWK(key).key, algorithm="ES256", headers={"kid": key["kid"]})
    with pytest.raises(InvalidSoftwareStatementError, match="iss is not the trusted directory"):
        _verify(token, directory)


def test_statement_without_exp_is_refused(directory):
    key = json.loads(demo_directory_files(directory)[0].read_text())["keys"][0]
    claims = {"iss": DEMO_DIRECTORY_ISSUER, "iat": int(NOW)}
    token = jwt.encode(claims, jwt.PyJWK(key).key, algorithm="ES256", headers={"kid": key["kid"]})
    with pytest.raises(InvalidSoftwareStatementError, match="lacks the exp claim"):
        _verify(token, directory)


def test_garbage_statement_is_refused(directory):
    with pytest.raises(InvalidSoftwareStatementError, match="not a JWT"):
        _verify("not-a-jwt", directory)


def test_production_without_a_directory_key_file_is_refused(settings_factory):
    # load_settings already refuses this combination; the directory refuses it again, on its own.
    settings = dataclasses.replace(settings_factory(), mode="production")
    with pytest.raises(DirectoryKeyError, match="no directory_jwks_file configured; production mode needs one"):
        trusted_directory_jwks(settings)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "directory key file not found"),
        ("{not json", "not valid JSON"),
        ('{"keys": []}', "expected a JWK set with a non-empty 'keys' list"),
    ],
)
def test_a_directory_key_file_that_is_not_a_jwk_set_names_the_path(settings_factory, tmp_path, content, problem):
    path = tmp_path / "dir.jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(generate_jwk("ES256"))]}))
    settings = settings_factory(directory_jwks_file=path)
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(DirectoryKeyError, match=problem) as caught:
        trusted_directory_jwks(settings)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_replaced_directory_key_file_is_trusted_at_the_next_registration_without_a_restart(
    settings_factory, tmp_path
):
    path = tmp_path / "dir.jwks.json"
    path.write_text(json.dumps(old := _wallet_jwks()))
    settings = settings_factory(directory_jwks_file=str(path))
    assert trusted_directory_jwks(settings) == old
    replacement = tmp_path / "dir.jwks.json.new"
    replacement.write_text(json.dumps(new := _wallet_jwks()))
    replacement.replace(path)  # as an operator rotates it: the whole new file at once
    assert trusted_directory_jwks(settings) == new
