"""The authorize step applies the rules of the consent's purposes that hold on every call."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from gateway.errors import ForbiddenError
from gateway.pipeline.authorize import authorize
from gateway.pipeline.call import AccessToken, Call
from gateway.pipeline.route import route
from gateway.services import Services
from tests.unit.pipeline.conftest import BASE, MemoryConsents

TOKEN = AccessToken(jti="j", client_id="wallet-1", subject="alice", scope=frozenset({"accounts"}), expires_at=0.0,
                    consent_id="c-1", jkt="k")  # fmt: skip
PRESENT = {"x-fapi-customer-ip-address": "10.0.0.1"}


@pytest.fixture
def lending_attended_only(services: Services) -> None:
    """The policy makes lending an attended-only purpose (data read only while the user is there)."""
    purposes = services.policies.purposes
    lending = dataclasses.replace(purposes.purposes["lending"], attended_only=True)
    catalogue = dataclasses.replace(purposes, purposes={**purposes.purposes, "lending": lending})
    services.policies = dataclasses.replace(services.policies, purposes=catalogue)


async def _authorized(make_call: Callable[..., Call], headers: dict[str, str] | None = None) -> Call:
    call = make_call(path=BASE + "/accounts/acc-1/balances", headers=headers)
    await route(call)
    call.token = TOKEN
    await authorize(call)
    return call


@pytest.mark.usefixtures("lending_attended_only")
async def test_authorize_refuses_an_unattended_call_for_an_attended_only_purpose(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", purposes=("lending",))
    with pytest.raises(ForbiddenError, match="only while the user is present") as info:
        await _authorized(make_call)
    assert info.value.path == "x-fapi-customer-ip-address"


@pytest.mark.usefixtures("lending_attended_only")
async def test_authorize_serves_an_attended_call_for_an_attended_only_purpose(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", purposes=("lending",))
    call = await _authorized(make_call, PRESENT)
    assert call.attended is True


@pytest.mark.usefixtures("lending_attended_only")
async def test_authorize_serves_an_unattended_call_when_no_purpose_is_attended_only(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", purposes=("aggregation",))
    call = await _authorized(make_call)
    assert call.attended is False
