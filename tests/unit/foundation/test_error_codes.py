"""Every error the gateway raises carries a published Open Banking code and a valid v4.0 body."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import consent
import gateway
from consent.errors import ConsentError
from gateway.errors import GatewayError, ob_error_body, ob_error_code

# OBExternalStatusReason1Code, the error codes only (Code Name -> Code Value), typed from
# github.com/OpenBankingUK/External_Internal_CodeSets OB_Internal_Codeset.csv (commit 3901233);
# the v4.0 cycle's OB_Internal_CodeSet.csv (commits 8da4ecc, 48eee25 = v0.2, 2025-01-16) has the
# same values, and the code set's v4.0.1 release (2025-11-20) only reworded U037.
PUBLISHED = {
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

# The errors the gateway's own pipeline raises most, and the code each must send.
EXPECTED = {
    "gateway.errors.GatewayError": "U002",
    "gateway.errors.FieldMissingError": "U004",
    "gateway.errors.FieldInvalidDateError": "U003",
    "gateway.errors.HeaderInvalidError": "U006",
    "gateway.errors.HeaderMissingError": "U007",
    "gateway.errors.ResourceInvalidFormatError": "U010",
    "gateway.errors.InvalidTokenError": "U006",
    "gateway.errors.InvalidDPoPProofError": "U006",
    "gateway.errors.ForbiddenError": "U008",
    "gateway.errors.InvalidConsentStatusError": "U009",
    "gateway.errors.ResourceNotFoundError": "U011",
    "gateway.errors.MethodNotAllowedError": "U002",
    "gateway.errors.TooManyRequestsError": "U042",
    "gateway.errors.UpstreamError": "U000",
    "gateway.errors.ServiceUnavailableError": "U000",
    "gateway.user_routes.LoginRequiredError": "U006",
    "gateway.oauth.login_delegation.AdminUnauthorizedError": "U006",
    "gateway.oauth.users.InvalidCredentialsError": "U002",
    "consent.errors.ConsentError": "U002",
    "consent.errors.ConsentNotFoundError": "U011",
    "consent.errors.InvalidTransitionError": "U009",
    "consent.errors.ConsentFieldError": "U002",
    "consent.errors.ConsentFieldMissingError": "U004",
    "consent.errors.ConsentFieldUnexpectedError": "U005",
    "consent.errors.IdempotencyConflictError": "U013",
}


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _error_classes() -> list[type[GatewayError] | type[ConsentError]]:
    """Both error families, after importing every module that could define a member."""
    for package in (gateway, consent):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    found = {GatewayError, ConsentError, *_subclasses(GatewayError), *_subclasses(ConsentError)}
    return sorted(found, key=_name)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


ERROR_CLASSES = _error_classes()


@pytest.mark.parametrize(("name", "code"), sorted(PUBLISHED.items()))
def test_each_published_code_renders_as_its_v4_value_and_its_v3_name(name: str, code: str) -> None:
    """The v4 mapping equals OBExternalStatusReason1Code in OpenBankingUK/External_Internal_CodeSets."""
    assert ob_error_code(name) == code
    assert ob_error_code(name, v4=False) == name


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=_name)
def test_every_error_class_carries_a_published_code(cls: type[GatewayError] | type[ConsentError]) -> None:
    """Each code a gateway or consent error carries is in the published code set."""
    assert cls.code in PUBLISHED, f"{_name(cls)} carries {cls.code!r}, which Open Banking does not publish"
    assert ob_error_code(cls.code) == PUBLISHED[cls.code]
    assert ob_error_code(cls.code, v4=False) == cls.code


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED.items()))
def test_the_pipeline_errors_send_the_right_code(name: str, code: str) -> None:
    """Header, date, not-found, consent-status, limit and token refusals pick the code set's nearest code."""
    cls = next(c for c in ERROR_CLASSES if _name(c) == name)
    assert ob_error_code(cls.code) == code


def test_unpublished_and_unknown_codes_never_reach_the_wallet() -> None:
    assert ob_error_code("UK.OBIE.Rules.TooManyRequests") == "U042"
    assert ob_error_code("UK.OBIE.NoSuchCode") == "U000"
    assert ob_error_code("UK.OBIE.NoSuchCode", v4=False) == "UK.OBIE.UnexpectedError"


@functools.cache
def _schema_validator(spec_path: Path) -> Any:
    """OBErrorResponse1 from the official v4.0.0 document, as the tests already load it."""
    import jsonschema
    import yaml

    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    schema = {"$ref": "#/components/schemas/OBErrorResponse1", "components": spec["components"]}
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=_name)
@pytest.mark.parametrize("path", [None, "Data.Permissions[2]"])
def test_every_error_body_validates_against_the_official_v4_schema(
    cls: type[GatewayError] | type[ConsentError], path: str | None, uk_ob_accounts_v4: Path
) -> None:
    """The body of each error class, as the gateway renders it, is a valid v4.0.0 OBErrorResponse1."""
    exc = GatewayError(cls.message, path=path)
    exc.status, exc.code = cls.status, cls.code
    body = orjson.loads(orjson.dumps(ob_error_body(exc, "93bac548-d2de-4546-b106-880a5018460d")))
    _schema_validator(uk_ob_accounts_v4).validate(body)
    assert len(body["Errors"][0]["ErrorCode"]) == 4


def test_long_messages_paths_and_ids_are_cut_to_the_schema_lengths(uk_ob_accounts_v4: Path) -> None:
    exc = GatewayError("x" * 600, path="Data." + "p" * 600)
    body = orjson.loads(orjson.dumps(ob_error_body(exc, "i" * 80)))
    _schema_validator(uk_ob_accounts_v4).validate(body)
    assert (len(body["Id"]), len(body["Message"]), len(body["Errors"][0]["Path"])) == (40, 500, 500)
