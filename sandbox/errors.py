"""The bank's refusals, rendered as UK OB v4 ``OBErrorResponse1`` bodies.

BankError                 400  U002  a field is invalid
 ├── InvalidDateError      400  U003  a date-time query parameter is not ISO 8601
 ├── UnauthorisedError     401  U006  the gateway assertion header is missing or not acceptable
 ├── NotFoundError         404  U011  no such resource (also: a resource the caller may not see)
 ├── MethodNotAllowedError 405  U002  the bank only reads
 └── UnexpectedError       500  U000  anything else; the body never carries internals

The 4-character ``ErrorCode`` values are OBExternalStatusReason1Code values (OpenBankingUK/
External_Internal_CodeSets, OB_Internal_Codeset.csv), the ones the gateway uses for the same
logical codes, so an error looks the same whichever side raised it.
"""

from __future__ import annotations

import uuid

import orjson
from starlette.requests import Request
from starlette.responses import Response

_STATUS_CODES = {
    400: "400 BadRequest",
    401: "401 Unauthorized",
    404: "404 NotFound",
    405: "405 MethodNotAllowed",
    500: "500 InternalError",
}


class BankError(Exception):
    status, code, message = 400, "U002", "The request is invalid."

    def __init__(self, message: str | None = None, *, path: str | None = None) -> None:
        self.message = " ".join((message or type(self).message).split())
        self.path = path
        super().__init__(self.message)


class InvalidDateError(BankError):
    code, message = "U003", "A date-time is invalid."


class UnauthorisedError(BankError):
    status, code, message = 401, "U006", "The gateway assertion is not acceptable."


class NotFoundError(BankError):
    status, code, message = 404, "U011", "No such resource."


class MethodNotAllowedError(BankError):
    status, message = 405, "This method is not allowed on this resource."


class UnexpectedError(BankError):
    status, code, message = 500, "U000", "The bank could not answer; quote the Id when you report it."


def interaction_id(request: Request) -> str:
    """The caller's x-fapi-interaction-id when it is sensible, else a fresh one."""
    given = request.headers.get("x-fapi-interaction-id", "")
    return given if 0 < len(given) <= 40 and given.isprintable() else str(uuid.uuid4())


def error_response(exc: BankError, request: Request) -> Response:
    error_id = interaction_id(request)
    error: dict[str, str] = {"ErrorCode": exc.code, "Message": exc.message[:500]}
    if exc.path:
        error["Path"] = exc.path[:500]
    body = {"Code": _STATUS_CODES.get(exc.status, str(exc.status)), "Id": error_id, "Message": exc.message[:500]}
    headers = {"x-fapi-interaction-id": error_id, "Cache-Control": "no-store"}
    return Response(orjson.dumps(body | {"Errors": [error]}), exc.status, headers, "application/json")
