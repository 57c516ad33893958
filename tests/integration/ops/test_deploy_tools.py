"""deploy/ checked by the real tools: ``nginx -t`` and ``docker compose config``.

Debian's nginx (``apt-get install nginx-light``) and docker-compose (``apt-get install
docker-compose``, or the docker CLI's compose plugin) are used when installed; neither needs a
running Docker engine. Without them these tests are skipped, saying which tool is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.ops.nginx import NGINX, Issued, NginxConfig, issue, make_ca
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
COMPOSE_ENV = {"POSTGRES_PASSWORD": "compose-config-check"}

needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")


@pytest.fixture
def tls_material() -> tuple[Issued, bytes]:
    """The server's certificate and key, and the CA bundle nginx trusts for client certificates."""
    ca, ca_key, ca_cert = make_ca("walletgate test CA")
    return issue(ca_key, ca_cert, "127.0.0.1", server=True), ca.cert_pem


@needs_nginx
@pytest.mark.parametrize(
    ("main", "upstreams"),
    [
        ("nginx.conf", {f"gateway-{n}:8000": f"127.0.0.1:{18000 + n}" for n in (1, 2, 3)}),
        ("nginx-sidecar.conf", {}),
    ],
)
def test_nginx_accepts_the_shipped_configuration(
    tmp_path: Path, main: str, upstreams: dict[str, str], tls_material: tuple[Issued, bytes]
) -> None:
    config = NginxConfig(tmp_path / "nginx", main, free_port(), upstreams)
    config.write(*tls_material)
    result = config.test()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@needs_nginx
def test_nginx_refuses_a_broken_configuration(tmp_path: Path, tls_material: tuple[Issued, bytes]) -> None:
    config = NginxConfig(tmp_path / "nginx", "nginx-sidecar.conf", free_port(), {})
    config.write(*tls_material)
    (tmp_path / "nginx" / "tls" / "client-ca.pem").unlink()
    result = config.test()
    assert result.returncode != 0
    assert "client-ca.pem" in result.stderr


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


COMPOSE = _compose_command()
needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="neither `docker compose` nor docker-compose is installed (apt-get install docker-compose)"
)


def _compose_config(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    return subprocess.run(
        [*COMPOSE, "-f", str(path), "config", "-q"], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@needs_compose
def test_compose_file_is_valid() -> None:
    result = _compose_config(COMPOSE_FILE, {**os.environ, **COMPOSE_ENV})
    assert result.returncode == 0, result.stderr


@needs_compose
def test_compose_refuses_to_start_without_the_database_password() -> None:
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    result = _compose_config(COMPOSE_FILE, env)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


@needs_compose
def test_compose_validator_refuses_an_unknown_option(tmp_path: Path) -> None:
    broken = COMPOSE_FILE.read_text().replace(
        "  stop_grace_period: 30s\n", "  stop_grace_period: 30s\n  stop_grace: 30s\n"
    )
    bad = tmp_path / "compose.yaml"
    bad.write_text(broken)
    result = _compose_config(bad, {**os.environ, **COMPOSE_ENV})
    assert result.returncode != 0
    assert "stop_grace" in result.stderr
