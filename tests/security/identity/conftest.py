from tests.unit.identity.conftest import identity_engine, make_client

__all__ = ["identity_engine", "make_client"]
