"""The hot-path compact JWS: parsed once, refused as strictly as PyJWT refuses, and interoperable with it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.oauth import jws

NOW = 1_800_000_000
KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC = KEY.public_key()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(claims: dict[str, Any] | None = None, header: dict[str, Any] | None = None) -> str:
    return jws.sign(
        claims if claims is not None else {"sub": "alice", "iat": NOW, "exp": NOW + 60},
        KEY,
        "ES256",
        header or {"typ": "JWT"},
    )


def _verified(token: str) -> dict[str, Any]:
    parsed = jws.parse(token)
    jws.verify_signature(parsed, PUBLIC, ("ES256",))
    return parsed.claims()


def test_a_token_it_signs_verifies_with_pyjwt() -> None:
    claims = jwt.decode(_token(), PUBLIC, algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False})
    assert claims == {"sub": "alice", "iat": NOW, "exp": NOW + 60}


def test_a_token_pyjwt_signs_verifies_here() -> None:
    token = jwt.encode({"sub": "bob"}, KEY, algorithm="ES256", headers={"kid": "k1"})
    assert _verified(token) == {"sub": "bob"}
    assert jws.parse(token).header["kid"] == "k1"


def test_datetime_time_claims_become_numeric_dates() -> None:
    token = _token({"exp": datetime.fromtimestamp(NOW, UTC)})
    assert _verified(token) == {"exp": NOW}


@pytest.mark.parametrize("token", ["a.b", "a.b.c.d", "", "..."])
def test_a_token_without_three_segments_is_refused(token: str) -> None:
    with pytest.raises(jwt.DecodeError):
        _verified(token)


def test_padding_is_refused() -> None:
    head, body, sig = _token().split(".")
    with pytest.raises(jwt.DecodeError):
        jws.parse(f"{head}.{body}==.{sig}")


@pytest.mark.parametrize("bad", ["+", "/", " ", "\u00e9", "%"])
def test_characters_outside_base64url_are_refused(bad: str) -> None:
    head, body, sig = _token().split(".")
    with pytest.raises(jwt.DecodeError):
        jws.parse(f"{head}.{body[:4]}{bad}{body[5:]}.{sig}")


def test_a_header_that_is_not_a_json_object_is_refused() -> None:
    _, body, sig = _token().split(".")
    with pytest.raises(jwt.DecodeError):
        jws.parse(f"{_b64(b'[1]')}.{body}.{sig}")


def test_a_payload_that_is_not_a_json_object_is_refused() -> None:
    head, _, sig = _token().split(".")
    with pytest.raises(jwt.DecodeError):
        jws.parse(f"{head}.{_b64(b'42')}.{sig}").claims()


def test_alg_none_is_refused() -> None:
    token = f"{_b64(orjson.dumps({'alg': 'none'}))}.{_b64(orjson.dumps({'sub': 'mallory'}))}."
    with pytest.raises(jwt.InvalidAlgorithmError):
        _verified(token)


def test_an_alg_the_caller_did_not_allow_is_refused() -> None:
    token = jwt.encode({"sub": "mallory"}, "secret-secret-secret-secret-1234", algorithm="HS256")
    with pytest.raises(jwt.InvalidAlgorithmError):
        _verified(token)


def test_a_tampered_payload_fails_the_signature() -> None:
    head, _, sig = _token().split(".")
    forged = _b64(orjson.dumps({"sub": "mallory", "iat": NOW, "exp": NOW + 60}))
    with pytest.raises(jwt.InvalidSignatureError):
        _verified(f"{head}.{forged}.{sig}")


def test_another_keys_signature_fails() -> None:
    other = jws.sign({"sub": "alice"}, ec.generate_private_key(ec.SECP256R1()), "ES256", {})
    with pytest.raises(jwt.InvalidSignatureError):
        _verified(other)


@pytest.mark.parametrize(
    ("alg", "curve"), [("ES256", ec.SECP256R1()), ("ES384", ec.SECP384R1()), ("ES512", ec.SECP521R1())]
)
def test_each_ecdsa_algorithm_interoperates_with_pyjwt(alg: str, curve: ec.EllipticCurve) -> None:
    key = ec.generate_private_key(curve)
    ours = jws.sign({"sub": "alice"}, key, alg, {})
    assert jwt.decode(ours, key.public_key(), algorithms=[alg]) == {"sub": "alice"}
    theirs = jws.parse(jwt.encode({"sub": "bob"}, key, algorithm=alg))
    jws.verify_signature(theirs, key.public_key(), (alg,))
    assert theirs.claims() == {"sub": "bob"}


def test_a_key_on_another_curve_than_the_algorithms_fails() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    head, body, _ = _token().split(".")
    signature = jws.parse(jws.sign({"sub": "alice"}, p384, "ES384", {})).signature[:64]
    with pytest.raises(jwt.InvalidSignatureError):
        jws.verify_signature(jws.parse(f"{head}.{body}.{_b64(signature)}"), p384.public_key(), ("ES256",))


@pytest.mark.parametrize("cut", [1, 32, 63])
def test_a_signature_of_the_wrong_length_fails(cut: int) -> None:
    head, body, _ = _token().split(".")
    raw = jws.parse(_token()).signature
    with pytest.raises(jwt.InvalidSignatureError):
        _verified(f"{head}.{body}.{_b64(raw[:cut])}")
    with pytest.raises(jwt.InvalidSignatureError):
        _verified(f"{head}.{body}.{_b64(raw + raw[:cut])}")


def test_a_signature_that_is_not_a_pair_of_curve_scalars_fails() -> None:
    head, body, _ = _token().split(".")
    with pytest.raises(jwt.InvalidSignatureError):
        _verified(f"{head}.{body}.{_b64(bytes(64))}")
    with pytest.raises(jwt.InvalidSignatureError):
        _verified(f"{head}.{body}.{_b64(bytes([255]) * 64)}")


def test_a_crit_header_is_refused() -> None:
    with pytest.raises(jwt.InvalidTokenError, match="critical"):
        jws.parse(_token(header={"crit": ["b64"], "b64": False}))


def test_a_kid_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(jwt.InvalidTokenError, match="Key ID"):
        jws.parse(_token(header={"kid": 7}))


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(jwt.ExpiredSignatureError):
        jws.check_claims({"exp": NOW}, now=NOW)


def test_leeway_admits_a_token_just_expired() -> None:
    jws.check_claims({"exp": NOW - 5}, now=NOW, leeway=10)


def test_a_token_not_yet_valid_is_refused() -> None:
    with pytest.raises(jwt.ImmatureSignatureError):
        jws.check_claims({"nbf": NOW + 60}, now=NOW, leeway=10)


def test_a_token_issued_in_the_future_is_refused() -> None:
    with pytest.raises(jwt.ImmatureSignatureError):
        jws.check_claims({"iat": NOW + 60}, now=NOW, leeway=10)


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_a_time_claim_that_is_not_a_number_is_refused(claim: str) -> None:
    with pytest.raises(jwt.InvalidTokenError):
        jws.check_claims({claim: "soon"}, now=NOW)


def test_a_missing_required_claim_is_named() -> None:
    with pytest.raises(jwt.MissingRequiredClaimError, match="jti"):
        jws.check_claims({"exp": NOW + 60}, now=NOW, required=("exp", "jti"))


def test_another_audience_is_refused() -> None:
    with pytest.raises(jwt.InvalidAudienceError):
        jws.check_claims({"aud": ["https://other.example"]}, now=NOW, audience="https://gw.example")


def test_a_missing_audience_is_refused_when_one_is_expected() -> None:
    with pytest.raises(jwt.MissingRequiredClaimError, match="aud"):
        jws.check_claims({}, now=NOW, audience="https://gw.example")


def test_one_matching_audience_of_several_is_enough() -> None:
    jws.check_claims({"aud": ["https://a.example", "https://gw.example"]}, now=NOW, audience="https://gw.example")


def test_another_issuer_is_refused() -> None:
    with pytest.raises(jwt.InvalidIssuerError):
        jws.check_claims({"iss": "https://evil.example"}, now=NOW, issuer="https://gw.example")


def test_a_subject_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(jwt.InvalidTokenError):
        jws.check_claims({"sub": 42}, now=NOW)
