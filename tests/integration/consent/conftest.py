"""A consent store on a freshly migrated database (SQLite and PostgreSQL), with a frozen clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consent.changes import ConsentChanges
from consent.db import open_engine
from consent.migrate import upgrade
from consent.model import Consent
from consent.sql import SqlConsentStore
from gateway.clock import FrozenClock
from policies import SHIPPED, PolicySet
from policies.permissions import load_permissions
from policies.purposes import load_purposes


@pytest.fixture(scope="session")
def consent_policies() -> PolicySet:
    permissions = load_permissions(SHIPPED / "permissions.yaml")
    return PolicySet(SHIPPED, permissions, load_purposes(SHIPPED / "purposes.yaml", permissions))


@pytest.fixture
def published() -> list[Consent]:
    return []


@pytest.fixture
async def store(
    database_url: str, frozen_clock: FrozenClock, consent_policies: PolicySet, published: list[Consent]
) -> AsyncIterator[SqlConsentStore]:
    upgrade(database_url, "head")
    engine = open_engine(database_url)
    changes = ConsentChanges()

    async def remember(consent: Consent) -> None:
        published.append(consent)

    changes.subscribe(remember)
    yield SqlConsentStore(engine, consent_policies, frozen_clock, changes=changes, awaiting_authorisation_ttl=3600)
    await engine.dispose()
