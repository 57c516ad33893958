"""Reading OAuth requests: form bodies with single-valued parameters, the caller's address, URLs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Scope

from gateway.oauth.errors import InvalidRequestError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; a repeated parameter is refused (RFC 6749 §3.1)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("the body must be application/x-www-form-urlencoded", path="header.Content-Type")
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise InvalidRequestError(f"the body is larger than {_MAX_FORM_BYTES} bytes")
    form = await request.form()
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise InvalidRequestError("file uploads are not accepted", path=name)
        if name in values:
            raise InvalidRequestError(f"parameter {name} is repeated", path=name)
        if value != "":
            values[name] = value
    return values


def peer_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def endpoint_url(request: Request, issuer: str) -> str:
    """The URL the client addressed (issuer base + path): what a DPoP ``htu`` must name."""
    return issuer + wire_path(request.scope)


def wire_path(scope: Scope) -> str:
    """The request's path as the client sent it, percent-encoding and all (RFC 9449 §4.3 compares the
    ``htu`` with the request URI after syntax-based normalisation, which decodes unreserved characters
    only: the decoded path would refuse a correct proof for ``/a%2Fb``)."""
    raw: bytes | None = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def json_no_store(body: object, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status, headers=NO_STORE | (headers or {}))
