"""A real gateway process (uvicorn, migrated SQLite) for the ops tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import ServerProcess, free_port, python_module

GatewayFactory = Callable[..., ServerProcess]
# The process writes its own log file (ServerProcess(log_path=...) leaves its file handle open).
LOG_FILE_ENV = "WALLETGATE_TEST_LOG_FILE"


def log_text(server: ServerProcess) -> str:
    """Everything the gateway process logged so far."""
    return Path(server.env[LOG_FILE_ENV]).read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[GatewayFactory]:
    """Start ``tests.integration.ops.serve_app`` with extra ``WALLETGATE_*`` settings."""
    started: list[ServerProcess] = []

    def start(**settings: str) -> ServerProcess:
        port = free_port()
        env = {
            "WALLETGATE_DATA_DIR": str(tmp_path / "data"),
            "WALLETGATE_PORT": str(port),
            "WALLETGATE_LOG_FORMAT": "json",
            LOG_FILE_ENV: str(tmp_path / f"gateway-{port}.log"),
            **{f"WALLETGATE_{k.upper()}": v for k, v in settings.items()},
        }
        server = ServerProcess(python_module("tests.integration.ops.serve_app"), f"http://127.0.0.1:{port}", env=env)
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()
