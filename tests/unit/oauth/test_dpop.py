"""Every RFC 9449 §4.3 check of ``verify_dpop_proof``, each refusal with its exact message."""

from __future__ import annotations

import base64
import json
import secrets
import time

import pytest

from gateway.errors import InvalidDPoPProofError
from gateway.oauth.dpop import (
    UseDPoPNonceError,
    access_token_hash,
    jwk_thumbprint,
    normalise_htu,
    verify_dpop_proof,
)
from gateway.oauth.replay import MemoryReplayCache
from tests.unit.oauth.forge import hmac_signed, unsigned
from tests.unit.oauth.keys import WalletKey

URL = "https://gw.example/token"
NOW = 1_790_000_000.0


@pytest.fixture(scope="module")
def key() -> WalletKey:
    return WalletKey("ES256")


async def check(proof: str | None, *, method: str = "POST", url: str = URL, **kwargs):
    kwargs.setdefault("replay", MemoryReplayCache(clock=lambda: NOW))
    kwargs.setdefault("access_token", None)
    kwargs.setdefault("now", NOW)
    return await verify_dpop_proof(proof, method=method, url=url, **kwargs)


async def refused(proof: str | None, match: str, **kwargs) -> InvalidDPoPProofError:
    with pytest.raises(InvalidDPoPProofError, match=match) as info:
        await check(proof, **kwargs)
    return info.value


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
async def test_dpop_accepts_valid_proof_and_names_its_key(alg):
    wallet = WalletKey(alg)
    proof = await check(wallet.dpop("POST", URL, now=NOW, jti="j1"))
    assert proof.jkt == jwk_thumbprint(wallet.public_jwk)
    assert (proof.jti, proof.htm, proof.htu, proof.iat) == ("j1", "POST", URL, int(NOW))


def test_jwk_thumbprint_matches_rfc7638_example():
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB"
        "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJ"
        "ZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIq"
        "bw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


async def test_dpop_refuses_missing_proof():
    error = await refused(None, "A DPoP proof is required")
    assert error.status == 401
    assert 'DPoP error="invalid_dpop_proof"' in error.headers["WWW-Authenticate"]


async def test_dpop_refuses_garbage():
    await refused("not-a-jwt", "not a well-formed JWS")


async def test_dpop_refuses_wrong_typ(key):
    await refused(key.dpop("POST", URL, now=NOW, header={"typ": "JWT"}), "typ must be 'dpop\\+jwt', got 'JWT'")


async def test_dpop_refuses_alg_none(key):
    proof = unsigned({"typ": "dpop+jwt", "jwk": key.public_jwk}, {"jti": "x", "htm": "POST", "htu": URL, "iat": NOW})
    await refused(proof, "alg 'none' is not allowed")


async def test_dpop_refuses_symmetric_alg_keyed_with_the_public_key(key):
    header = {"typ": "dpop+jwt", "jwk": key.public_jwk}
    secret = json.dumps(key.public_jwk).encode()
    proof = hmac_signed(header, {"jti": "x", "htm": "POST", "htu": URL, "iat": NOW}, secret)
    await refused(proof, "alg 'HS256' is not allowed; use one of ES256, PS256, EdDSA")


async def test_dpop_refuses_rs256():
    wallet = WalletKey("PS256")
    proof = wallet.sign({"jti": "x", "htm": "POST", "htu": URL, "iat": NOW}, {"typ": "dpop+jwt"}, alg="RS256")
    await refused(proof, "alg 'RS256' is not allowed")


async def test_dpop_refuses_private_key_in_jwk(key):
    proof = key.dpop("POST", URL, now=NOW, header={"jwk": key.private_jwk})
    await refused(proof, "carries private key material \\(d\\)")


async def test_dpop_refuses_missing_jwk(key):
    proof = key.sign({"jti": "x", "htm": "POST", "htu": URL, "iat": NOW}, {"typ": "dpop+jwt"})
    await refused(proof, "the jwk header must be a JSON object")


async def test_dpop_refuses_signature_by_another_key(key):
    other = WalletKey("ES256")
    proof = other.dpop("POST", URL, now=NOW, header={"jwk": key.public_jwk})
    await refused(proof, "the signature does not verify with the key in its jwk header")


async def test_dpop_refuses_key_that_does_not_fit_alg(key):
    proof = WalletKey("EdDSA").dpop("POST", URL, now=NOW, header={"jwk": key.public_jwk})
    await refused(proof, "EdDSA needs an Ed25519 key|not a usable EdDSA public key")


async def test_dpop_refuses_wrong_htm(key):
    await refused(key.dpop("GET", URL, now=NOW), "htm 'GET' does not match the request method 'POST'")


async def test_dpop_refuses_wrong_htu(key):
    await refused(key.dpop("POST", "https://gw.example/par", now=NOW), "htu 'https://gw.example/par' does not match")


async def test_dpop_refuses_htu_on_another_host(key):
    await refused(key.dpop("POST", "https://evil.example/token", now=NOW), "does not match the request URL")


async def test_dpop_ignores_query_and_fragment_and_normalises_htu(key):
    proof = key.dpop("GET", "HTTPS://GW.example:443/a/./b/%7euser?x=1#f", now=NOW)
    assert (await check(proof, method="GET", url="https://gw.example/a/b/~user?y=2")).htm == "GET"


def test_normalise_htu_keeps_non_default_port_and_drops_default():
    assert normalise_htu("http://h:8080/p?q") == "http://h:8080/p"
    assert normalise_htu("http://H:80") == "http://h/"


async def test_dpop_refuses_stale_iat(key):
    await refused(key.dpop("POST", URL, now=NOW - 61), "iat is 61 s old \\(at most 60 s is accepted\\)")


async def test_dpop_refuses_iat_too_far_ahead(key):
    await refused(key.dpop("POST", URL, now=NOW + 11), "iat is 11 s in the future \\(at most 10 s is accepted\\)")
    await refused(key.dpop("POST", URL, now=NOW + 61), "iat is 61 s in the future")


async def test_dpop_accepts_small_clock_skew_ahead(key):
    assert (await check(key.dpop("POST", URL, now=NOW + 10))).iat == int(NOW + 10)


async def test_dpop_refuses_replayed_jti(key):
    cache = MemoryReplayCache(clock=lambda: NOW)
    proof = key.dpop("POST", URL, now=NOW, jti="once")
    await check(proof, replay=cache)
    await refused(proof, "jti 'once' was already used with this key", replay=cache)


async def test_dpop_failed_check_does_not_spend_jti(key):
    cache = MemoryReplayCache(clock=lambda: NOW)
    proof = key.dpop("POST", URL, now=NOW, jti="kept")
    await refused(proof, "htm", method="GET", replay=cache)
    assert (await check(proof, replay=cache)).jti == "kept"


async def test_dpop_refuses_missing_jti(key):
    proof = key.sign({"htm": "POST", "htu": URL, "iat": NOW}, {"typ": "dpop+jwt", "jwk": key.public_jwk})
    await refused(proof, "the jti claim is missing")


async def test_dpop_refuses_ath_mismatch(key):
    proof = key.dpop("GET", URL, now=NOW, access_token="token-A")
    await refused(proof, "ath does not match", method="GET", access_token="token-B")


async def test_dpop_refuses_missing_ath_when_token_presented(key):
    await refused(key.dpop("GET", URL, now=NOW), "the ath claim is required", method="GET", access_token="t")


async def test_dpop_accepts_matching_ath(key):
    proof = key.dpop("GET", URL, now=NOW, access_token="token-A")
    assert (await check(proof, method="GET", access_token="token-A")).htm == "GET"
    assert access_token_hash("token-A") != access_token_hash("token-B")


async def test_dpop_asks_for_nonce_when_required(key):
    error = await refused(key.dpop("POST", URL, now=NOW), "the nonce claim is missing", nonce="n-1")
    assert isinstance(error, UseDPoPNonceError)
    assert error.headers["DPoP-Nonce"] == "n-1"
    assert 'error="use_dpop_nonce"' in error.headers["WWW-Authenticate"]
    await refused(key.dpop("POST", URL, now=NOW, nonce="old"), "is not the current nonce", nonce="n-1")
    assert (await check(key.dpop("POST", URL, now=NOW, nonce="n-1"), nonce="n-1")).jti


async def test_memory_replay_cache_forgets_after_ttl():
    clock = [time.time()]
    cache = MemoryReplayCache(clock=lambda: clock[0])
    assert await cache.first_use("k", 5)
    assert not await cache.first_use("k", 5)
    clock[0] += 6
    assert await cache.first_use("k", 5)


async def test_redis_replay_cache_answers_once_across_instances(redis_url):
    from redis.asyncio import Redis

    from gateway.oauth.replay import RedisReplayCache

    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        assert await RedisReplayCache(one).first_use("jti-1", 30)
        assert not await RedisReplayCache(two).first_use("jti-1", 30)
        assert 0 < await one.pttl("wg:replay:jti-1") <= 30_000
    finally:
        await one.aclose()
        await two.aclose()


async def test_memory_replay_cache_sweeps_expired_keys_and_keeps_live_ones():
    clock = [0.0]
    cache = MemoryReplayCache(clock=lambda: clock[0], sweep_at=4)
    for key in ("a", "b", "c"):
        assert await cache.first_use(key, 10)
    clock[0] = 11
    assert await cache.first_use("d", 100)
    assert await cache.first_use("e", 100)  # sweeps a, b, c
    assert not await cache.first_use("d", 100)
    assert len(cache._seen) == 2


async def test_dpop_refuses_an_rsa_key_longer_than_4096_bits_before_verifying_with_it():
    modulus = (1 << 8191) | secrets.randbits(8191) | 1
    jwk = {"kty": "RSA", "e": "AQAB", "n": base64.urlsafe_b64encode(modulus.to_bytes(1024)).rstrip(b"=").decode()}
    header = {"alg": "PS256", "typ": "dpop+jwt", "jwk": jwk}
    claims = {"jti": "x", "htm": "POST", "htu": URL, "iat": NOW}
    segments = [base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode() for part in (header, claims)]
    proof = ".".join([*segments, "A" * 1366])
    await refused(proof, "PS256 needs an RSA key of 2048 to 4096 bits with public exponent 65537")
