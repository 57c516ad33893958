"""Fixtures shared by every test: settings, databases, Redis, clocks, real server processes.

PostgreSQL and Redis are the real servers on this machine's loopback ports. Each test
session creates its own PostgreSQL database and drops it afterwards; Redis tests use a
private database index and flush it after each test. Point elsewhere with
WALLETGATE_TEST_POSTGRES_URL / WALLETGATE_TEST_REDIS_URL. With CI=true an unreachable
server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import FrozenClock
from gateway.settings import Settings, load_settings
from tests.support.servers import free_port


def _specs_dir() -> Path:
    """The public open-banking documents the tests check against; they are not copied into the project.

    ``WALLETGATE_SPECS_DIR`` when set; else ``shared/specs`` beside this checkout; else, for a clone
    made elsewhere (CI clones into a temporary folder), ``shared/specs`` beside the checkout it was
    cloned from.
    """
    if os.environ.get("WALLETGATE_SPECS_DIR"):
        return Path(os.environ["WALLETGATE_SPECS_DIR"])
    root = Path(__file__).resolve().parents[1]
    beside = root.parent / "shared" / "specs"
    if beside.is_dir():
        return beside
    try:
        origin = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return beside
    source = Path(origin)
    return source.resolve().parent / "shared" / "specs" if source.is_absolute() and source.is_dir() else beside


SPECS = _specs_dir()
UK_OB_ACCOUNTS_V4 = SPECS / "uk-ob" / "account-info-openapi-v4.0.0.yaml"

POSTGRES_ADMIN_URL = os.environ.get("WALLETGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("WALLETGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({exc}); the tests that need it cannot run"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: an empty environment, a private data folder, overrides on top."""

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        return load_settings(environ={}, overrides=overrides)

    return make


@pytest.fixture
def frozen_clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'walletgate.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    import psycopg2
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"walletgate_test_{uuid.uuid4().hex[:10]}"
    try:
        conn = psycopg2.connect(
            host=admin.host, port=admin.port or 5432, user=admin.username, dbname=admin.database, connect_timeout=3
        )
    except psycopg2.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test body on the embedded default and on PostgreSQL (fresh schema per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'walletgate.db'}"
    base: str = request.getfixturevalue("postgres_url")
    return _fresh_postgres_schema(base)


def _fresh_postgres_schema(base: str) -> str:
    """Empty the session database so each test starts from nothing."""
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(base)
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    conn.close()
    return base


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database index private to the tests, flushed before and after each test."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    client.flushdb()
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def uk_ob_accounts_v4() -> Path:
    assert UK_OB_ACCOUNTS_V4.exists(), f"the official spec is expected at {UK_OB_ACCOUNTS_V4}"
    return UK_OB_ACCOUNTS_V4
