"""A call's request headers answer as Starlette's Headers do, from a dictionary built once."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from gateway.pipeline.headers import RequestHeaders

RAW = [(b"authorization", b"DPoP first"), (b"x-fapi-auth-date", b"Sun, 10 Sep 2017 19:43:31 UTC"),
       (b"authorization", b"DPoP second")]  # fmt: skip


def _both() -> tuple[RequestHeaders, Headers]:
    return RequestHeaders({"type": "http", "headers": list(RAW)}), Headers(raw=list(RAW))


@pytest.mark.parametrize("name", ["authorization", "Authorization", "X-FAPI-Auth-Date", "dpop"])
def test_look_ups_answer_as_starlettes_headers_do(name: str) -> None:
    fast, starlette = _both()
    assert fast.get(name) == starlette.get(name)
    assert (name in fast) == (name in starlette)
    assert fast.getlist(name) == starlette.getlist(name)


def test_the_first_of_a_repeated_header_is_the_one_read() -> None:
    fast, _ = _both()
    assert fast["authorization"] == "DPoP first"
    assert fast.getlist("authorization") == ["DPoP first", "DPoP second"]


def test_a_missing_header_is_a_key_error_or_the_default() -> None:
    fast, _ = _both()
    with pytest.raises(KeyError):
        fast["dpop"]
    assert fast.get("dpop", "none") == "none"
    assert 7 not in fast  # type: ignore[comparison-overlap]  # as Headers, anything may be asked
