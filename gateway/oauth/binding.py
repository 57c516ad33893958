"""Decide what a token will be bound to: the DPoP key of this request, or the client certificate.

``endpoint_proof`` also checks the proof a wallet may send with its pushed request (/par).
"""

from __future__ import annotations

from starlette.requests import Request

from gateway.errors import InvalidDPoPProofError, OAuthError
from gateway.oauth.client_auth import AuthenticatedClient
from gateway.oauth.dpop import DPoPProof, UseDPoPNonceError, verify_dpop_proof
from gateway.oauth.errors import (
    InvalidDPoPAtTokenEndpointError,
    InvalidRequestError,
    UseDPoPNonceAtTokenEndpointError,
)
from gateway.oauth.http import endpoint_url
from gateway.oauth.server import AuthorizationServer
from gateway.oauth.tokens import Binding
from gateway.services import Services


async def endpoint_proof(request: Request, services: Services, server: AuthorizationServer) -> DPoPProof | None:
    """The DPoP proof sent to /par or /token, checked completely (RFC 9449 §4.3); ``None`` when none is sent."""
    proofs = request.headers.getlist("dpop")
    if len(proofs) > 1:
        raise InvalidDPoPAtTokenEndpointError("send exactly one DPoP header", path="header.DPoP")
    if not proofs:
        return None
    try:
        return await verify_dpop_proof(
            proofs[0],
            method=request.method,
            url=endpoint_url(request, services.settings.issuer_url),
            access_token=None,
            replay=server.replay,
            now=services.clock(),
            nonces=server.nonces,
        )
    except InvalidDPoPProofError as exc:
        raise at_token_endpoint(exc) from None


async def token_binding(
    request: Request, authenticated: AuthenticatedClient, services: Services, server: AuthorizationServer
) -> Binding:
    """DPoP when a proof is sent (checked completely), else mTLS; never a bearer token."""
    proof = await endpoint_proof(request, services, server)
    if proof is not None:
        return Binding(jkt=proof.jkt)
    if authenticated.client.dpop_bound_access_tokens:
        raise InvalidDPoPAtTokenEndpointError(
            "this client registered dpop_bound_access_tokens: a DPoP proof is required", path="header.DPoP"
        )
    if authenticated.certificate_thumbprint is not None:
        return Binding(x5t=authenticated.certificate_thumbprint)
    raise InvalidRequestError(
        "tokens are sender-constrained: send a DPoP proof or present a client certificate", path="header.DPoP"
    )


def at_token_endpoint(exc: InvalidDPoPProofError) -> OAuthError:
    """RFC 9449 §5 and §8: at the authorization server a bad proof is a 400, a missing nonce ``use_dpop_nonce``."""
    if isinstance(exc, UseDPoPNonceError):
        return UseDPoPNonceAtTokenEndpointError(exc.message, path="header.DPoP", headers=dict(exc.headers))
    return InvalidDPoPAtTokenEndpointError(exc.message, path="header.DPoP")
