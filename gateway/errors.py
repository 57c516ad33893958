"""The gateway's one error family, and how any refusal is rendered.

GatewayError                              400  U002 UK.OBIE.Field.Invalid
 ├── FieldMissingError                    400  U004 UK.OBIE.Field.Missing
 ├── FieldInvalidDateError                400  U003 UK.OBIE.Field.InvalidDate
 ├── HeaderInvalidError                   400  U006 UK.OBIE.Header.Invalid
 ├── HeaderMissingError                   400  U007 UK.OBIE.Header.Missing
 ├── ResourceInvalidFormatError           400  U010 UK.OBIE.Resource.InvalidFormat
 ├── InvalidTokenError                    401  U006 UK.OBIE.Header.Invalid (WWW-Authenticate: error="invalid_token")
 │    └── InvalidDPoPProofError           401  U006 UK.OBIE.Header.Invalid (... error="invalid_dpop_proof")
 ├── ForbiddenError                       403  U008 UK.OBIE.Resource.ConsentMismatch
 │    └── InvalidConsentStatusError       403  U009 UK.OBIE.Resource.InvalidConsentStatus
 ├── ResourceNotFoundError                404  U011 UK.OBIE.Resource.NotFound
 ├── MethodNotAllowedError                405  U002 UK.OBIE.Field.Invalid
 ├── TooManyRequestsError                 429  U042 UK.OBIE.OtherReason (Retry-After, RateLimit-*)
 ├── UpstreamError                        502  U000 UK.OBIE.UnexpectedError
 ├── ServiceUnavailableError              503  U000 UK.OBIE.UnexpectedError (Retry-After; temporarily_unavailable)
 └── OAuthError                           400  RFC 6749 body: error / error_description
      └── ... (gateway/oauth defines the RFC error codes as subclasses)

API routes render the Open Banking ``OBErrorResponse1`` body; ``/oauth/*`` routes (and any
``OAuthError``) render RFC 6749 ``error``/``error_description``. ``consent.errors.ConsentError``
has the same attributes and renders the same way. A database or Redis that cannot be reached
(refused, dropped, timed out) is a 503 with ``Retry-After``, since the same call may well work a
moment later, logged in one line; anything else is a 500 with a safe message and a traceback.
Starlette's own ``HTTPException`` (the router's 404 and 405, a malformed multipart form's 400)
renders the same way, through the class of its status.
"""

from __future__ import annotations

import errno
import logging
import socket
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from redis import exceptions as redis_errors
from sqlalchemy import exc as sql_errors
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from consent.errors import ConsentError

log = logging.getLogger("walletgate.errors")

# UK OB v4.0 documents carry a 4-character OBExternalStatusReason1Code in Errors[].ErrorCode (the
# v4.0.0 OpenAPI: OBError1.ErrorCode, minLength = maxLength = 4). Each code replaces the v3 namespaced
# code that the code set gives as its "Code Name"; the error classes carry those v3 names.
# Source: github.com/OpenBankingUK/External_Internal_CodeSets, OB_Internal_Codeset.csv, code set
# OBExternalStatusReason1Code (file commit 3901233). The earlier versions stored from the v4.0 cycle
# (OB_Internal_CodeSet.csv, commits 8da4ecc and 48eee25 = v0.2 of 2025-01-16) have the same U000-U029,
# and the v4.0.1 release (2025-11-20) only reworded U037. The v3 order is not the v4 numbering: UnexpectedError
# is U000 and FailsControlParameters takes U014. U030-U040 and the numeric codes are payment status
# reasons, never error codes.
_V4_REASON_CODES: dict[str, str] = {
    "UK.OBIE.UnexpectedError": "U000",
    "UK.OBIE.Field.Expected": "U001",
    "UK.OBIE.Field.Invalid": "U002",
    "UK.OBIE.Field.InvalidDate": "U003",
    "UK.OBIE.Field.Missing": "U004",
    "UK.OBIE.Field.Unexpected": "U005",
    "UK.OBIE.Header.Invalid": "U006",
    "UK.OBIE.Header.Missing": "U007",
    "UK.OBIE.Resource.ConsentMismatch": "U008",
    "UK.OBIE.Resource.InvalidConsentStatus": "U009",
    "UK.OBIE.Resource.InvalidFormat": "U010",
    "UK.OBIE.Resource.NotFound": "U011",
    "UK.OBIE.Rules.AfterCutOffDateTime": "U012",
    "UK.OBIE.Rules.DuplicateReference": "U013",
    "UK.OBIE.Rules.FailsControlParameters": "U014",
    "UK.OBIE.Signature.Invalid": "U015",
    "UK.OBIE.Signature.InvalidClaim": "U016",
    "UK.OBIE.Signature.MissingClaim": "U017",
    "UK.OBIE.Signature.Malformed": "U018",
    "UK.OBIE.Signature.Missing": "U019",
    "UK.OBIE.Signature.Unexpected": "U020",
    "UK.OBIE.Unsupported.AccountIdentifier": "U021",
    "UK.OBIE.Unsupported.AccountSecondaryIdentifier": "U022",
    "UK.OBIE.Unsupported.Currency": "U023",
    "UK.OBIE.Unsupported.EventType": "U024",
    "UK.OBIE.Unsupported.Frequency": "U025",
    "UK.OBIE.Unsupported.LocalInstrument": "U026",
    "UK.OBIE.Unsupported.Scheme": "U027",
    "UK.OBIE.Reauthenticate": "U028",
    "UK.OBIE.Rules.ResourceAlreadyExists": "U029",
    "UK.OBIE.ExemptionNotApplied": "U041",
    "UK.OBIE.OtherReason": "U042",
}

# Codes that no Open Banking list defines (neither v3 nor the v4 code set) but gateway errors carry,
# or carried, rendered as the nearest published code in both versions. New code uses published names.
_NEAREST_PUBLISHED: dict[str, str] = {
    # See TooManyRequestsError.
    "UK.OBIE.Rules.TooManyRequests": "UK.OBIE.OtherReason",
}

_STATUS_PHRASES = {
    400: "400 BadRequest",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    404: "404 NotFound",
    405: "405 MethodNotAllowed",
    406: "406 NotAcceptable",
    409: "409 Conflict",
    413: "413 PayloadTooLarge",
    415: "415 UnsupportedMediaType",
    429: "429 TooManyRequests",
    500: "500 InternalError",
    502: "502 BadGateway",
    503: "503 ServiceUnavailable",
    504: "504 GatewayTimeout",
}


def ob_error_code(code: str, *, v4: bool = True) -> str:
    """The ErrorCode to send for an error's logical code: the v4 reason code, or the v3 name.

    A code that is not published becomes its nearest published one, else UnexpectedError.
    """
    code = _NEAREST_PUBLISHED.get(code, code)
    if code not in _V4_REASON_CODES:
        code = "UK.OBIE.UnexpectedError"
    return _V4_REASON_CODES[code] if v4 else code


class GatewayError(Exception):
    status: int = 400
    code: str = "UK.OBIE.Field.Invalid"
    message: str = "The request is invalid."
    oauth_error: str = "invalid_request"

    def __init__(
        self,
        message: str | None = None,
        *,
        path: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = _one_line(message or type(self).message)
        self.path = path
        self.headers = dict(headers or {})
        super().__init__(self.message)


class FieldMissingError(GatewayError):
    code, message = "UK.OBIE.Field.Missing", "A required field is missing."


class FieldInvalidDateError(GatewayError):
    """A date or date-time is malformed or outside the range the operation accepts."""

    code, message = "UK.OBIE.Field.InvalidDate", "A date is invalid."


class HeaderInvalidError(GatewayError):
    code, message = "UK.OBIE.Header.Invalid", "A header is invalid."


class HeaderMissingError(GatewayError):
    code, message = "UK.OBIE.Header.Missing", "A required header is missing."


class ResourceInvalidFormatError(GatewayError):
    """The body cannot be parsed as the operation's payload at all (e.g. it is not JSON)."""

    code, message = "UK.OBIE.Resource.InvalidFormat", "The request body cannot be parsed."


class InvalidTokenError(GatewayError):
    """RFC 6750 §3.1 invalid_token: the access token is missing, malformed, expired or revoked.

    The code set has no code for a refused access token (the v4.0.0 OpenAPI gives 401 no body;
    WWW-Authenticate carries the reason). The token travels in the Authorization header, so the
    nearest code is U006 Header.Invalid.
    """

    status, code, message, oauth_error = 401, "UK.OBIE.Header.Invalid", "The access token is invalid.", "invalid_token"
    scheme = "DPoP"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        algs = ', algs="PS256 ES256 EdDSA"' if self.scheme == "DPoP" else ""  # RFC 9449 §7.1: DPoP's own
        self.headers.setdefault(
            "WWW-Authenticate",
            f'{self.scheme} error="{self.oauth_error}", error_description="{_quote(self.message)}"{algs}',
        )


class InvalidDPoPProofError(InvalidTokenError):
    """RFC 9449 §7.1: the DPoP proof is missing or invalid."""

    message, oauth_error = "The DPoP proof is invalid.", "invalid_dpop_proof"


class ForbiddenError(GatewayError):
    """The token is valid but its consent does not cover this request.

    U008 ConsentMismatch is defined for a payment order that does not match its consent; it is
    the only code in the set for "this request is not what the consent allows", so the nearest.
    """

    status, code, message, oauth_error = (
        403,
        "UK.OBIE.Resource.ConsentMismatch",
        "The consent does not cover this request.",
        "insufficient_scope",
    )


class InvalidConsentStatusError(ForbiddenError):
    code, message = "UK.OBIE.Resource.InvalidConsentStatus", "The consent is not in a state that allows access."


class ResourceNotFoundError(GatewayError):
    status, code, message = 404, "UK.OBIE.Resource.NotFound", "No such resource."


class MethodNotAllowedError(GatewayError):
    """No code names an HTTP method; U002 Field.Invalid (an invalid value was sent) is the nearest."""

    status, code, message = 405, "UK.OBIE.Field.Invalid", "This method is not allowed on this resource."


class PayloadTooLargeError(GatewayError):
    """RFC 9110 §15.5.14: the request body is larger than the gateway accepts there."""

    status, code, message = 413, "UK.OBIE.Field.Invalid", "The request body is too large."


class TooManyRequestsError(GatewayError):
    """A limit refused the call.

    The code set has no rate-limit code (the v4.0.0 OpenAPI gives 429 no body, only Retry-After).
    U042 OtherReason is its catch-all; U014 FailsControlParameters would claim a payment limit.
    """

    status, code, message = 429, "UK.OBIE.OtherReason", "Too many requests."
    oauth_error = "temporarily_unavailable"


class UpstreamError(GatewayError):
    status, code, message = (
        502,
        "UK.OBIE.UnexpectedError",
        "The bank could not answer; quote the Id when you report it.",
    )


class ServiceUnavailableError(GatewayError):
    status, code, message = 503, "UK.OBIE.UnexpectedError", "The service is unavailable; retry later."
    oauth_error = "temporarily_unavailable"


class OAuthError(GatewayError):
    """An RFC 6749 §5.2 error; subclasses in ``gateway.oauth`` set ``oauth_error``."""

    status, oauth_error, message = 400, "invalid_request", "The request is invalid."


def _one_line(text: str) -> str:
    """Error text must never carry CR/LF (header injection, log forging)."""
    return " ".join(text.split())


def _quote(text: str) -> str:
    """Text for a quoted header parameter: ASCII only (a header holds Latin-1 at most, and RFC 6750 §3
    allows printable ASCII in ``error_description``), so a message quoting the client's input cannot
    turn a refusal into a 500."""
    ascii_text = text.encode("ascii", "backslashreplace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace('"', "'")


def interaction_id(request: Request) -> str:
    """The call's x-fapi-interaction-id, set by the middleware or the pipeline, else a new one."""
    value = getattr(request.state, "interaction_id", None)
    return str(value) if value else str(uuid.uuid4())


def ob_error_body(exc: GatewayError | ConsentError, error_id: str, *, v4: bool = True) -> dict[str, Any]:
    error: dict[str, Any] = {"ErrorCode": ob_error_code(exc.code, v4=v4), "Message": exc.message[:500]}
    if exc.path:
        error["Path"] = exc.path[:500]
    return {
        "Code": _STATUS_PHRASES.get(exc.status, str(exc.status)),
        "Id": error_id[:40],
        "Message": exc.message[:500],
        "Errors": [error],
    }


def render_ob_error(exc: GatewayError | ConsentError, error_id: str, *, v4: bool = True) -> Response:
    headers = {"x-fapi-interaction-id": error_id, "Cache-Control": "no-store"}
    headers.update(getattr(exc, "headers", {}))
    return Response(orjson.dumps(ob_error_body(exc, error_id, v4=v4)), exc.status, headers, "application/json")


def render_oauth_error(exc: GatewayError | ConsentError, error_id: str) -> Response:
    body = {"error": getattr(exc, "oauth_error", "invalid_request"), "error_description": _one_line(exc.message)}
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache", "x-fapi-interaction-id": error_id}
    headers.update(getattr(exc, "headers", {}))
    return Response(orjson.dumps(body), exc.status, headers, "application/json")


def _wants_oauth(request: Request, exc: Exception) -> bool:
    return isinstance(exc, OAuthError) or request.url.path.startswith(
        ("/oauth/", "/par", "/token", "/register", "/introspect", "/revoke", "/userinfo")
    )


async def handle_error(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for both families and for the unexpected."""
    error_id = interaction_id(request)
    if isinstance(exc, HTTPException):
        exc = _from_starlette(exc, request.method)
    if backend_unavailable(exc):
        log.warning("a database or Redis cannot be reached (interaction %s): %s: %s", error_id, type(exc).__name__, exc)
        exc = ServiceUnavailableError(
            "A service the gateway needs cannot be reached; retry later.", headers={"Retry-After": "1"}
        )
    elif not isinstance(exc, GatewayError | ConsentError):
        log.exception("unexpected error (interaction %s)", error_id, exc_info=exc)
        exc = GatewayError("An unexpected error happened; quote the Id when you report it.")
        exc.status, exc.code = 500, "UK.OBIE.UnexpectedError"
        exc.oauth_error = "server_error"
    if _wants_oauth(request, exc):
        return render_oauth_error(exc, error_id)
    return render_ob_error(exc, error_id)


def _from_starlette(exc: HTTPException, method: str) -> GatewayError:
    """The family's error for a refusal Starlette raised itself (its ``detail`` is the status phrase
    or the form parser's own text, never the client's input)."""
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return ResourceNotFoundError("There is no resource at this path.", headers=headers)
    if exc.status_code == 405:
        allowed = headers.get("Allow") or headers.get("allow") or ""
        return MethodNotAllowedError(f"{method} is not allowed on this resource; allowed: {allowed}.", headers=headers)
    error = GatewayError(str(exc.detail), headers=headers)
    error.status = exc.status_code
    if exc.status_code >= 500:
        error.code, error.oauth_error = "UK.OBIE.UnexpectedError", "server_error"
    return error


_UNREACHABLE = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    socket.gaierror,  # the host name does not resolve
    TimeoutError,
    sql_errors.OperationalError,
    sql_errors.TimeoutError,  # no pooled connection came free in time
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
)
_NETWORK_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


def backend_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says a database or Redis could not be reached, rather than that something is
    wrong (a missing file, a bad query and a bug stay errors)."""
    if isinstance(exc, sql_errors.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    return isinstance(exc, _UNREACHABLE)
