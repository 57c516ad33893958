"""Get Metrics answers version 5 and refuses, as the CDR's x-v/x-min-v rules say, a range without it."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from gateway.admin_metrics import VersionUnsupportedError, check_version
from gateway.errors import HeaderInvalidError


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-v": "5"}, {"x-v": "6", "x-min-v": "3"}, {"x-v": "5", "x-min-v": "9"}, {"x-v": "8", "x-min-v": "5"}],
)
def test_version_range_that_includes_5_is_answered(headers: dict[str, str]) -> None:
    check_version(Headers(headers))


@pytest.mark.parametrize("headers", [{"x-v": "4"}, {"x-v": "4", "x-min-v": "2"}, {"x-v": "9", "x-min-v": "6"}])
def test_version_range_without_5_is_refused_with_406(headers: dict[str, str]) -> None:
    with pytest.raises(VersionUnsupportedError) as info:
        check_version(Headers(headers))
    assert info.value.status == 406


@pytest.mark.parametrize(("name", "value"), [("x-v", "v5"), ("x-v", "0"), ("x-min-v", "-1")])
def test_version_header_that_is_not_a_positive_integer_is_refused_with_400(name: str, value: str) -> None:
    headers = {"x-v": "5", name: value}
    with pytest.raises(HeaderInvalidError, match=rf"^{name}: '{value}' is not a positive integer$") as info:
        check_version(Headers(headers))
    assert (info.value.status, type(info.value)) == (400, HeaderInvalidError)
