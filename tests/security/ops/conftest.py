"""The ops security tests run against the same real gateway process as the ops integration tests."""

from tests.integration.ops.conftest import gateway_process

__all__ = ["gateway_process"]
