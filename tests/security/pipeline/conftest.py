from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.pipeline.harness import Stack, Wallet, stack_fixture


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from stack_fixture(tmp_path_factory.mktemp("stack"))


@pytest.fixture
def wallet(stack: Stack) -> Iterator[Wallet]:
    w = Wallet(stack)
    yield w
    w.close()
