"""Publish what this authorization server does (RFC 8414, OpenID Discovery) and its keys.

Only what is implemented is listed; the registration endpoint appears only when a route for
it is mounted.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.oauth.client_auth import ASSERTION_ALGORITHMS
from gateway.oauth.consents import AUTHORIZATION_DETAILS_TYPE
from gateway.oauth.dpop import DPOP_ALGORITHMS
from gateway.oauth.server import SCOPES
from gateway.services import Services

AUTH_METHODS = ["private_key_jwt", "tls_client_auth"]


def metadata(services: Services, mounted: set[str]) -> dict[str, Any]:
    issuer = services.settings.issuer_url
    doc: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "require_pushed_authorization_requests": True,
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "tls_client_certificate_bound_access_tokens": True,
        "authorization_response_iss_parameter_supported": True,
        "authorization_details_types_supported": [AUTHORIZATION_DETAILS_TYPE],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted({key.alg for key in services.keys.current_keys}),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": True,  # only request_uris issued by /par
    }
    if "/register" in mounted:
        doc["registration_endpoint"] = f"{issuer}/register"
    return doc


async def openid_configuration(request: Request) -> Response:
    services: Services = request.app.state.services
    mounted = {getattr(route, "path", "") for route in request.app.routes}
    return JSONResponse(metadata(services, mounted), headers={"Cache-Control": "public, max-age=300"})


async def jwks(request: Request) -> Response:
    services: Services = request.app.state.services
    return JSONResponse(services.keys.jwks(services.clock()), headers={"Cache-Control": "public, max-age=60"})


ROUTES = [
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    Route("/.well-known/oauth-authorization-server", openid_configuration, methods=["GET"]),
    Route("/jwks", jwks, methods=["GET"]),
]
