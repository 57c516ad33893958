"""Deleting a registration (RFC 7592 §2.3) leaves nothing of the wallet usable, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from consent.model import ConsentStatus
from gateway.clock import FrozenClock
from gateway.oauth.tables import access_tokens, codes, par_requests, refresh_tokens
from tests.security.oauth.deregistration import hold_grants, register, running_stack
from tests.unit.oauth.harness import Gateway

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path, settings_factory, database_url) -> Iterator[Gateway]:
    yield from running_stack(tmp_path, settings_factory, FrozenClock(), database_url=database_url)


async def _rows(gateway: Gateway, client_id: str) -> dict[str, list[tuple[object, ...]]]:
    found: dict[str, list[tuple[object, ...]]] = {}
    async with gateway.services.engine.connect() as conn:
        for table, column in (
            (access_tokens, access_tokens.c.revoked),
            (refresh_tokens, refresh_tokens.c.revoked_at),
            (codes, codes.c.used_at),
            (par_requests, par_requests.c.used_at),
        ):
            query = select(column).where(table.c.client_id == client_id)
            found[table.name] = [tuple(row) for row in (await conn.execute(query)).all()]
    return found


def test_deleting_a_registration_revokes_its_tokens_drops_its_grants_and_revokes_its_consents(stack):
    registered = register(stack)
    grants = hold_grants(registered.wallet)
    client_id = registered.wallet.client_id
    before = stack.run(_rows, stack, client_id)
    assert before["oauth_access_tokens"] == [(False,), (False,)]  # the user's token and the client_credentials one
    assert before["oauth_codes"]
    assert before["oauth_par_requests"]

    assert registered.delete().status_code == 204

    after = stack.run(_rows, stack, client_id)
    assert after["oauth_access_tokens"] == [(True,), (True,)]
    assert all(revoked_at is not None for (revoked_at,) in after["oauth_refresh_tokens"])
    assert after["oauth_codes"] == []
    assert after["oauth_par_requests"] == []
    for consent_id in (grants.consent_id, grants.pending_consent_id):
        assert stack.run(stack.services.consents.get, consent_id).status is ConsentStatus.REVOKED
    assert stack.run(stack.services.clients.get, client_id) is None
