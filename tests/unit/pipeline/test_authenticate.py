from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from starlette.datastructures import Headers

from gateway.errors import InvalidDPoPProofError, InvalidTokenError
from gateway.oauth.keys import KeyRing, generate_jwk
from gateway.oauth.mtls import x5t_s256
from gateway.pipeline.authenticate import authenticate
from gateway.pipeline.call import Call
from gateway.pipeline.limit import limit, spend_proof
from gateway.services import Services
from tests.unit.identity.certs import forwarded, make_certificate
from tests.unit.pipeline.conftest import BASE, ISSUER, Wallet

PATH = BASE + "/accounts"


async def test_authenticate_accepts_dpop_bound_token_with_matching_proof(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    call = make_call(headers=wallet.headers("GET", PATH))
    await authenticate(call)
    assert call.token is not None
    assert call.token.client_id == "wallet-1"
    assert call.token.consent_id == "c-1"
    assert call.token.jkt == wallet.jkt
    assert "accounts" in call.token.scope


async def _refused(call: Call) -> InvalidTokenError:
    with pytest.raises(InvalidTokenError) as info:
        await authenticate(call)
    assert info.value.status == 401
    return info.value


async def test_authenticate_refuses_missing_authorization(make_call: Callable[..., Call]) -> None:
    error = await _refused(make_call())
    assert 'error="invalid_token"' in error.headers["WWW-Authenticate"]


async def test_authenticate_refuses_token_in_query_string(make_call: Callable[..., Call], wallet: Wallet) -> None:
    call = make_call(path=PATH + "?access_token=" + wallet.token(), headers=wallet.headers("GET", PATH))
    error = await _refused(call)
    assert "query string" in error.message


async def test_authenticate_refuses_alg_none(make_call: Callable[..., Call], wallet: Wallet) -> None:
    token = jwt.encode({"sub": "alice"}, "", algorithm="none", headers={"typ": "at+jwt"})
    error = await _refused(make_call(headers=wallet.headers("GET", PATH, token)))
    assert 'error="invalid_token"' in error.headers["WWW-Authenticate"]


async def test_authenticate_refuses_hs256_token(make_call: Callable[..., Call], wallet: Wallet, keys: KeyRing) -> None:
    token = jwt.encode(
        {"sub": "alice", "iss": ISSUER, "aud": ISSUER, "exp": int(time.time()) + 60, "iat": int(time.time())},
        "x" * 32,
        algorithm="HS256",
        headers={"typ": "at+jwt", "kid": keys.current.kid},
    )
    await _refused(make_call(headers=wallet.headers("GET", PATH, token)))


async def test_authenticate_refuses_unknown_kid(make_call: Callable[..., Call], wallet: Wallet) -> None:
    stranger = Wallet(KeyRing.from_jwks({"keys": [generate_jwk("ES256") | {"use_state": "current"}]}))
    token = stranger.token()
    error = await _refused(make_call(headers=wallet.headers("GET", PATH, token)))
    assert "unknown kid" in error.message


async def test_authenticate_refuses_bad_signature(make_call: Callable[..., Call], wallet: Wallet) -> None:
    token = wallet.token()
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    await _refused(make_call(headers=wallet.headers("GET", PATH, forged)))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
        ({"aud": "http://other.test"}, "audience"),
        ({"iss": "http://other.test"}, "issuer"),
    ],
)
async def test_authenticate_refuses_bad_claims(
    make_call: Callable[..., Call], wallet: Wallet, claims: dict[str, Any], reason: str
) -> None:
    error = await _refused(make_call(headers=wallet.headers("GET", PATH, wallet.token(**claims))))
    assert reason in error.message.lower()


async def test_authenticate_judges_expiry_by_the_gateways_clock(
    make_call: Callable[..., Call], wallet: Wallet, services: Services
) -> None:
    services.clock = lambda: time.time() + 3600  # the gateway's clock, not the wall clock, decides
    token = wallet.token()
    error = await _refused(make_call(headers=wallet.headers("GET", PATH, token)))
    assert "expired" in error.message.lower()


async def test_authenticate_refuses_wrong_typ(make_call: Callable[..., Call], wallet: Wallet, keys: KeyRing) -> None:
    now = int(time.time())
    token = keys.sign({"iss": ISSUER, "aud": ISSUER, "sub": "a", "iat": now, "exp": now + 60}, typ="JWT")
    error = await _refused(make_call(headers=wallet.headers("GET", PATH, token)))
    assert "typ" in error.message


async def test_authenticate_refuses_revoked_jti(
    make_call: Callable[..., Call], wallet: Wallet, services: Services
) -> None:
    jti = uuid.uuid4().hex
    await services.revocation.revoke(jti, time.time() + 300)
    error = await _refused(make_call(headers=wallet.headers("GET", PATH, wallet.token(jti=jti))))
    assert "revoked" in error.message


async def test_authenticate_refuses_token_without_sender_constraint(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    token = wallet.token(cnf=None)
    error = await _refused(make_call(headers={"authorization": f"Bearer {token}"}))
    assert "not sender-constrained" in error.message


async def test_authenticate_refuses_dpop_token_sent_as_bearer(make_call: Callable[..., Call], wallet: Wallet) -> None:
    headers = wallet.headers("GET", PATH)
    headers["authorization"] = headers["authorization"].replace("DPoP ", "Bearer ")
    error = await _refused(make_call(headers=headers))
    assert "DPoP scheme" in error.message


async def test_authenticate_refuses_missing_dpop_proof(make_call: Callable[..., Call], wallet: Wallet) -> None:
    headers = wallet.headers("GET", PATH)
    del headers["dpop"]
    with pytest.raises(InvalidDPoPProofError):
        await authenticate(make_call(headers=headers))


async def test_authenticate_refuses_proof_from_another_key(make_call: Callable[..., Call], wallet: Wallet) -> None:
    token = wallet.token()
    thief = Wallet(wallet.keys)
    headers = {"authorization": f"DPoP {token}", "dpop": thief.proof("GET", ISSUER + PATH, token)}
    with pytest.raises(InvalidDPoPProofError, match="not bound to"):
        await authenticate(make_call(headers=headers))


async def test_authenticate_leaves_the_proofs_jti_to_the_limit_step(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    call = make_call(headers=wallet.headers("GET", PATH))
    await authenticate(call)
    assert call.proof_jti is not None
    assert call.proof_jti.key.startswith(f"dpop:{wallet.jkt}:")


async def test_a_replayed_proof_is_refused_by_the_limit_step(make_call: Callable[..., Call], wallet: Wallet) -> None:
    headers = wallet.headers("GET", PATH)
    first = make_call(headers=headers)
    await authenticate(first)
    await limit(first)
    second = make_call(headers=headers)
    await authenticate(second)
    with pytest.raises(InvalidDPoPProofError, match="already used") as refused:
        await limit(second)
    assert refused.value.status == 401


async def test_a_proof_of_a_call_refused_before_the_limit_step_is_spent(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    headers = wallet.headers("GET", PATH)
    refused = make_call(headers=headers)
    await authenticate(refused)
    await spend_proof(refused)
    again = make_call(headers=headers)
    await authenticate(again)
    with pytest.raises(InvalidDPoPProofError, match="already used"):
        await limit(again)


async def test_authenticate_refuses_proof_for_another_url(make_call: Callable[..., Call], wallet: Wallet) -> None:
    token = wallet.token()
    headers = {"authorization": f"DPoP {token}", "dpop": wallet.proof("GET", ISSUER + BASE + "/balances", token)}
    with pytest.raises(InvalidDPoPProofError):
        await authenticate(make_call(headers=headers))


async def test_authenticate_refuses_mtls_token_without_certificate(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    token = wallet.token(cnf={"x5t#S256": "abc"})
    error = await _refused(make_call(headers={"authorization": f"Bearer {token}"}))
    assert "client certificate" in error.message
    assert error.headers["WWW-Authenticate"].startswith("Bearer ")


async def test_authenticate_accepts_mtls_token_with_its_certificate(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    cert = make_certificate()
    token = wallet.token(cnf={"x5t#S256": x5t_s256(cert)})
    call = make_call(headers={"authorization": f"Bearer {token}", "x-ssl-client-cert": forwarded(cert)})
    await authenticate(call)
    assert call.token is not None
    assert call.token.x5t_s256 == x5t_s256(cert)


async def test_authenticate_refuses_mtls_token_with_another_certificate(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    token = wallet.token(cnf={"x5t#S256": x5t_s256(make_certificate())})
    call = make_call(headers={"authorization": f"Bearer {token}", "x-ssl-client-cert": forwarded(make_certificate())})
    error = await _refused(call)
    assert "not the one the access token is bound to" in error.message


async def test_authenticate_ignores_certificate_header_from_untrusted_peer(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    cert = make_certificate()
    token = wallet.token(cnf={"x5t#S256": x5t_s256(cert)})
    headers = {"authorization": f"Bearer {token}", "x-ssl-client-cert": forwarded(cert)}
    error = await _refused(make_call(headers=headers, client_ip="203.0.113.9"))
    assert "none was presented" in error.message


async def test_authenticate_refuses_an_unknown_authorization_scheme(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    error = await _refused(make_call(headers={"authorization": f"Basic {wallet.token()}"}))
    assert "must be 'DPoP <token>' or, for mTLS, 'Bearer <token>'" in error.message


async def test_authenticate_refuses_two_dpop_proofs(make_call: Callable[..., Call], wallet: Wallet) -> None:
    token = wallet.token()
    call = make_call()
    call.headers = Headers(
        raw=[
            (b"authorization", f"DPoP {token}".encode()),
            (b"dpop", wallet.proof("GET", ISSUER + PATH, token).encode()),
            (b"dpop", wallet.proof("GET", ISSUER + PATH, token).encode()),
        ]
    )
    with pytest.raises(InvalidDPoPProofError, match="Exactly one DPoP header") as refused:
        await authenticate(call)
    assert refused.value.status == 401
    assert refused.value.path == "header.DPoP"


async def test_authenticate_refuses_mtls_token_sent_with_the_dpop_scheme(
    make_call: Callable[..., Call], wallet: Wallet
) -> None:
    cert = make_certificate()
    token = wallet.token(cnf={"x5t#S256": x5t_s256(cert)})
    call = make_call(headers={"authorization": f"DPoP {token}", "x-ssl-client-cert": forwarded(cert)})
    error = await _refused(call)
    assert "must be sent with the Bearer scheme" in error.message
    assert error.headers["WWW-Authenticate"].startswith("Bearer ")
