from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.oauth.harness import Gateway, Wallet, running_gateway


@pytest.fixture
def gateway(tmp_path, settings_factory) -> Iterator[Gateway]:
    yield from running_gateway(tmp_path, settings_factory)


@pytest.fixture
def wallet(gateway: Gateway) -> Wallet:
    return gateway.register()
