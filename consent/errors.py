"""The consent package's one error family.

It carries the same four attributes as ``gateway.errors.GatewayError`` (``status``, ``code``,
``message``, ``path``) so that the gateway renders it without ``consent`` importing ``gateway``.

ConsentError
 ├── ConsentNotFoundError          404  UK.OBIE.Resource.NotFound
 ├── InvalidTransitionError        400  UK.OBIE.Resource.InvalidConsentStatus
 ├── ConsentFieldError             400  UK.OBIE.Field.Invalid
 │    └── ConsentFieldInvalidDateError 400 UK.OBIE.Field.InvalidDate (malformed, past, or a reversed window)
 ├── ConsentFieldMissingError      400  UK.OBIE.Field.Missing
 ├── ConsentFieldUnexpectedError   400  UK.OBIE.Field.Unexpected
 ├── PurposeRuleError              400  UK.OBIE.Field.Invalid (names the purpose and rule)
 ├── IdempotencyConflictError      400  UK.OBIE.Rules.DuplicateReference
 └── ConcurrentChangeError         409  UK.OBIE.UnexpectedError (the consent kept changing; retry)
"""

from __future__ import annotations


class ConsentError(Exception):
    status: int = 400
    code: str = "UK.OBIE.Field.Invalid"
    message: str = "The consent request is invalid."

    def __init__(self, message: str | None = None, *, path: str | None = None) -> None:
        self.message = message or type(self).message
        self.path = path
        super().__init__(self.message)


class ConsentNotFoundError(ConsentError):
    """No such consent for this caller (another wallet's or user's consent looks the same)."""

    status, code, message = 404, "UK.OBIE.Resource.NotFound", "No such consent."


class InvalidTransitionError(ConsentError):
    """The consent's current status does not allow this change (UK OB: InvalidConsentStatus)."""

    code, message = "UK.OBIE.Resource.InvalidConsentStatus", "The consent's status does not allow this."


class ConsentFieldError(ConsentError):
    code = "UK.OBIE.Field.Invalid"


class ConsentFieldInvalidDateError(ConsentFieldError):
    """A date-time that is malformed, lacks a time zone, or is not in the order or future UK OB expects."""

    code, message = "UK.OBIE.Field.InvalidDate", "A date-time is invalid."


class ConsentFieldMissingError(ConsentError):
    code, message = "UK.OBIE.Field.Missing", "A required field is missing."


class ConsentFieldUnexpectedError(ConsentError):
    code, message = "UK.OBIE.Field.Unexpected", "A field was sent that the server owns or does not expect."


class PurposeRuleError(ConsentError):
    """The consent breaks a rule of its purpose as the policy defines it."""

    code = "UK.OBIE.Field.Invalid"


class IdempotencyConflictError(ConsentError):
    """The x-idempotency-key was used before with a different body."""

    code = "UK.OBIE.Rules.DuplicateReference"
    message = "This x-idempotency-key was already used with a different request body."


class ConcurrentChangeError(ConsentError):
    """The consent kept changing under this request; the client may retry."""

    status, code, message = 409, "UK.OBIE.UnexpectedError", "The consent changed concurrently; retry the request."
