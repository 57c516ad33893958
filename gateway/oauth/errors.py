"""The RFC 6749 error codes the authorization server answers with, as ``OAuthError`` subclasses.

OAuthError (gateway.errors)                400 invalid_request
 ├── InvalidClientError                    401 invalid_client          RFC 6749 §5.2
 │    └── ClientKeysError (clients.py)     401 invalid_client          the client's keys are unobtainable
 ├── InvalidGrantError                     400 invalid_grant           RFC 6749 §5.2
 ├── UnauthorizedClientError               400 unauthorized_client     RFC 6749 §5.2
 ├── UnsupportedGrantTypeError             400 unsupported_grant_type  RFC 6749 §5.2
 ├── InvalidScopeError                     400 invalid_scope           RFC 6749 §5.2
 ├── InvalidRequestUriError                400 invalid_request_uri     RFC 9126 §2.3 / OIDC Core §6.2
 ├── InvalidRequestObjectError             400 invalid_request_object  RFC 9126 §2.3
 ├── InvalidDPoPAtTokenEndpointError       400 invalid_dpop_proof      RFC 9449 §5
 ├── UseDPoPNonceAtTokenEndpointError      400 use_dpop_nonce          RFC 9449 §8 (DPoP-Nonce header)
 ├── AccessDeniedError                     403 access_denied           RFC 6749 §4.1.2.1
 └── UnsupportedTokenTypeError             400 unsupported_token_type  RFC 7009 §2.2.1
"""

from __future__ import annotations

from gateway.errors import OAuthError


class InvalidRequestError(OAuthError):
    """RFC 6749 §5.2 invalid_request."""


class InvalidClientError(OAuthError):
    """RFC 6749 §5.2 invalid_client: client authentication failed."""

    status, oauth_error, message = 401, "invalid_client", "Client authentication failed."


class InvalidGrantError(OAuthError):
    """RFC 6749 §5.2 invalid_grant: the code or refresh token is invalid, expired, used or revoked."""

    oauth_error, message = "invalid_grant", "The grant is invalid."


class UnauthorizedClientError(OAuthError):
    oauth_error, message = "unauthorized_client", "The client may not use this grant type."


class UnsupportedGrantTypeError(OAuthError):
    oauth_error, message = "unsupported_grant_type", "The grant type is not supported."


class InvalidScopeError(OAuthError):
    oauth_error, message = "invalid_scope", "The requested scope is invalid."


class InvalidRequestUriError(OAuthError):
    oauth_error, message = "invalid_request_uri", "The request_uri is invalid, expired or already used."


class InvalidRequestObjectError(OAuthError):
    oauth_error, message = "invalid_request_object", "The request object is invalid."


class InvalidDPoPAtTokenEndpointError(OAuthError):
    """RFC 9449 §5: a bad proof at the token endpoint is a 400, not a 401."""

    oauth_error, message = "invalid_dpop_proof", "The DPoP proof is invalid."


class UseDPoPNonceAtTokenEndpointError(OAuthError):
    """RFC 9449 §8: retry with the nonce from the ``DPoP-Nonce`` header."""

    oauth_error, message = "use_dpop_nonce", "A DPoP nonce is required."


class AccessDeniedError(OAuthError):
    status, oauth_error, message = 403, "access_denied", "Access denied."


class UnsupportedTokenTypeError(OAuthError):
    oauth_error, message = "unsupported_token_type", "This token type cannot be revoked here."
