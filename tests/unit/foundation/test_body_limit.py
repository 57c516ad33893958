"""Which cap applies where (the refusals themselves are tested through a gateway process in tests/e2e)."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from gateway.body_limit import ADMIN_APIS_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("not called")


def test_the_admin_api_that_takes_whole_openapi_documents_has_the_larger_cap() -> None:
    limits = BodyLimitMiddleware(_app)
    assert limits.limit("/admin/apis/catalogue") == ADMIN_APIS_MAX_BODY_BYTES
    assert limits.limit("/admin/apis") == ADMIN_APIS_MAX_BODY_BYTES


def test_every_other_path_has_the_default_cap() -> None:
    limits = BodyLimitMiddleware(_app)
    for path in ("/token", "/register", "/admin/apisx", "/admin/metrics", "/open-banking/v4.0/aisp/accounts"):
        assert limits.limit(path) == DEFAULT_MAX_BODY_BYTES
