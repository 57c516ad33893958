"""The gateway's key ring: signs with the current key, verifies strictly, publishes only public parts."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.oauth import jws
from gateway.oauth.keys import KeyFileError, KeyRing, generate_jwk, write_private_file


def _ring(*algs: str) -> KeyRing:
    keys = [generate_jwk(alg) | {"use_state": "current" if i == 0 else "next"} for i, alg in enumerate(algs)]
    return KeyRing.from_jwks({"keys": keys})


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_signed_token_verifies(alg: str) -> None:
    ring = _ring(alg)
    now = int(time.time())
    token = ring.sign({"sub": "alice", "iat": now, "exp": now + 60}, typ="at+jwt")
    assert ring.verify(token, typ="at+jwt")["sub"] == "alice"


def test_jwks_publishes_no_private_members() -> None:
    for key in _ring("ES256", "PS256").jwks()["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_verify_refuses_wrong_typ() -> None:
    ring = _ring("ES256")
    now = int(time.time())
    token = ring.sign({"iat": now, "exp": now + 60}, typ="JWT")
    with pytest.raises(jwt.InvalidTokenError, match="typ"):
        ring.verify(token, typ="at+jwt")


def test_verify_refuses_alg_none() -> None:
    ring = _ring("ES256")
    now = int(time.time())
    headers = {"kid": ring.current.kid, "typ": "at+jwt"}
    token = jwt.encode({"iat": now, "exp": now + 60}, None, algorithm="none", headers=headers)  # type: ignore[arg-type]
    with pytest.raises(jwt.InvalidTokenError):
        ring.verify(token, typ="at+jwt")


def test_verify_refuses_unknown_kid() -> None:
    ring, other = _ring("ES256"), _ring("ES256")
    now = int(time.time())
    with pytest.raises(jwt.InvalidTokenError, match="unknown kid"):
        ring.verify(other.sign({"iat": now, "exp": now + 60}, typ="at+jwt"), typ="at+jwt")


def test_verify_refuses_expired_token() -> None:
    ring = _ring("ES256")
    now = int(time.time())
    with pytest.raises(jwt.ExpiredSignatureError):
        ring.verify(ring.sign({"iat": now - 120, "exp": now - 60}, typ="at+jwt"), typ="at+jwt")


def test_duplicate_kids_are_refused() -> None:
    key = generate_jwk("ES256") | {"use_state": "current"}
    with pytest.raises(KeyFileError, match="duplicate kid"):
        KeyRing.from_jwks({"keys": [key, key | {"use_state": "next"}]})


def test_a_current_key_is_required() -> None:
    with pytest.raises(KeyFileError, match="expected a key with use_state 'current', found none"):
        KeyRing.from_jwks({"keys": [generate_jwk("ES256") | {"use_state": "next"}]})


def test_two_current_keys_of_one_algorithm_are_refused() -> None:
    keys = [generate_jwk("ES256") | {"use_state": "current"} for _ in range(2)]
    with pytest.raises(KeyFileError, match="at most one current key per algorithm, found more than one ES256 key"):
        KeyRing.from_jwks({"keys": keys})


def _current(*algs: str) -> KeyRing:
    return KeyRing.from_jwks({"keys": [generate_jwk(alg, kid=alg) | {"use_state": "current"} for alg in algs]})


def _signed_with(ring: KeyRing, alg: str | None = None) -> str:
    now = int(time.time())
    token = ring.sign({"sub": "alice", "iat": now, "exp": now + 60}, typ="at+jwt", alg=alg)
    assert ring.verify(token, typ="at+jwt")["sub"] == "alice"
    return str(jwt.get_unverified_header(token)["kid"])


def test_with_a_current_key_per_algorithm_a_signer_asking_for_one_gets_it() -> None:
    ring = _current("ES256", "PS256")
    assert _signed_with(ring, "PS256") == "PS256"
    assert _signed_with(ring, "ES256") == "ES256"


def test_the_default_signer_is_the_es256_key_whatever_the_order_of_the_file() -> None:
    ring = _current("PS256", "ES256")
    assert ring.current.kid == "ES256"
    assert _signed_with(ring) == "ES256"
    assert {k.kid for k in ring.current_keys} == {"ES256", "PS256"}


def test_asking_for_an_algorithm_without_a_current_key_signs_with_the_default_key() -> None:
    assert _signed_with(_current("ES256"), "PS256") == "ES256"
    assert _signed_with(_current("PS256"), "ES256") == "PS256"


def test_a_demo_key_file_holds_a_current_es256_and_a_current_ps256_key(tmp_path: Path) -> None:
    ring = KeyRing.load_or_create(tmp_path / "signing.jwks.json")
    assert sorted(k.alg for k in ring.current_keys) == ["ES256", "PS256"]
    assert ring.current.alg == "ES256"


def test_missing_key_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="key file not found"):
        KeyRing.load(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected a JWK set with a non-empty 'keys' list"),
        ('{"keys": []}', "expected a JWK set with a non-empty 'keys' list"),
        ('{"keys": ["kid-1"]}', "every key must be a JSON object"),
    ],
)
def test_a_key_file_that_is_not_a_jwk_set_names_the_path_and_the_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "signing.jwks.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KeyFileError, match=problem) as caught:
        KeyRing.load(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_demo_key_file_is_created_private_to_the_owner(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.jwks.json"
    KeyRing.load_or_create(path)
    assert path.stat().st_mode & 0o077 == 0
    assert KeyRing.load(path).current.alg == "ES256"


def test_gateway_refuses_a_key_that_cannot_sign_id_tokens(tmp_path: Path, settings_factory) -> None:
    from gateway.app import load_keys

    path = tmp_path / "signing.jwks.json"
    write_private_file(path, {"keys": [generate_jwk("EdDSA") | {"use_state": "current"}]})
    with pytest.raises(KeyFileError, match="must be one of PS256, ES256"):
        load_keys(settings_factory(signing_keys_file=path))


def test_serve_reports_a_broken_key_file_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "signing.jwks.json"
    path.write_text("{not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", "1"],
        env={"PATH": "/usr/bin:/bin", "WALLETGATE_SIGNING_KEYS_FILE": str(path), "WALLETGATE_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"walletgate: {path}: not valid JSON")
    assert "Traceback" not in result.stderr


def _forged(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = jws.b64encode(orjson.dumps(header)) + b"." + jws.b64encode(orjson.dumps(claims))
    return (signing_input + b"." + jws.b64encode(sign(signing_input))).decode("ascii")


def _now_claims() -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "mallory", "iat": now, "exp": now + 60}


def test_a_token_naming_the_rsa_key_but_hmac_signed_with_its_public_half_is_refused() -> None:
    """The classic key confusion: an RS/PS key's public half used as an HMAC secret."""
    ring = _current("ES256", "PS256")
    rsa_key = ring.verification_key("PS256")
    assert rsa_key is not None
    public_pem = rsa_key.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": "PS256", "typ": "at+jwt"}
    token = _forged(header, _now_claims(), lambda data: hmac.new(public_pem, data, hashlib.sha256).digest())
    with pytest.raises(jwt.InvalidAlgorithmError):
        ring.verify(token, typ="at+jwt")


def test_a_token_whose_alg_is_not_its_keys_is_refused() -> None:
    ring = _current("ES256", "PS256")
    rsa_key = ring.verification_key("PS256")
    assert rsa_key is not None
    token = jws.sign(_now_claims(), rsa_key.private, "PS256", {"kid": "ES256", "typ": "at+jwt"})
    with pytest.raises(jwt.InvalidAlgorithmError, match="alg does not match the key"):
        ring.verify(token, typ="at+jwt")


def test_a_token_signed_by_one_current_key_under_the_others_kid_does_not_verify() -> None:
    ring = _current("ES256", "PS256")
    ec_key = ring.verification_key("ES256")
    assert ec_key is not None
    header = {"alg": "PS256", "kid": "PS256", "typ": "at+jwt"}
    forged = _forged(header, _now_claims(), lambda data: ec_key.private.sign(data, ec.ECDSA(hashes.SHA256())))
    with pytest.raises(jwt.InvalidSignatureError):
        ring.verify(forged, typ="at+jwt")
