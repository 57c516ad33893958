"""The shipped nginx in front of a real gateway: body caps per route, and what it keeps off the public port.

deploy/nginx/nginx-sidecar.conf runs on loopback (Debian's nginx) in front of a gateway process, so a
status can be told apart by who wrote it: the gateway answers in JSON, nginx with its own HTML page.
"""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.ops.conftest import GatewayFactory
from tests.integration.ops.nginx import NGINX, NginxConfig, issue, make_ca, wait_for_listener
from tests.support.servers import ServerProcess, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)"),
]

ADMIN_TOKEN = "7d0f3a9c1e5b8a2d4f6c0e9b3a7d1f5c"
METRICS_TOKEN = "c4e8a1f7b2d9c0e3a6f1b8d5c2e9a0f4"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
MIB = 1024 * 1024


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> dict[str, object]:
        assert self.content_type.startswith("application/json"), f"not the gateway's answer: {self.body[:200]!r}"
        return dict(json.loads(self.body))


@dataclass
class Front:
    """nginx on ``port`` (TLS, trusting ``ca_pem``) in front of ``gateway``."""

    port: int
    ca_pem: bytes
    gateway: ServerProcess

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=60)
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.getheader("content-type", ""), response.read())
        finally:
            conn.close()


@pytest.fixture
def front(tmp_path: Path, gateway_process: GatewayFactory) -> Iterator[Front]:
    gateway = gateway_process(admin_token=ADMIN_TOKEN, metrics_token=METRICS_TOKEN)
    gateway_address = gateway.url.removeprefix("http://")
    ca, ca_key, ca_cert = make_ca("walletgate test CA")
    port = free_port()
    config = NginxConfig(tmp_path / "nginx", "nginx-sidecar.conf", port, {"127.0.0.1:8000": gateway_address})
    config.write(issue(ca_key, ca_cert, "127.0.0.1", server=True), ca.cert_pem)
    log = (tmp_path / "nginx.log").open("wb")
    nginx = subprocess.Popen(config.command("-g", "daemon off;"), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_listener(port, nginx)
        yield Front(port, ca.cert_pem, gateway)
    finally:
        nginx.terminate()
        nginx.wait(10)
        log.close()


def _publish_body(size: int) -> bytes:
    """A publish body of ``size`` bytes whose policy text is missing, so the gateway refuses it after reading it all."""
    frame = json.dumps({"policy": "", "openapi": ""}).encode()
    return json.dumps({"policy": "", "openapi": "x" * (size - len(frame))}).encode()


def test_an_admin_publish_of_2_mib_passes_nginx_and_reaches_the_gateway(front: Front) -> None:
    body = _publish_body(2 * MIB)
    assert len(body) == 2 * MIB
    reply = front.request("PUT", "/admin/apis/catalogue", body, ADMIN)
    assert reply.status == 400  # the gateway read it whole, then refused the missing policy text
    error = reply.json()
    assert error["Errors"][0]["Path"] == "policy"  # type: ignore[index]


def test_an_admin_publish_over_the_gateways_8_mib_cap_is_refused_by_nginx(front: Front) -> None:
    body = _publish_body(8 * MIB + 1)
    reply = front.request("PUT", "/admin/apis/catalogue", body, ADMIN)
    assert reply.status == 413
    assert reply.content_type.startswith("text/html")


def test_a_call_outside_the_admin_api_keeps_the_1_mib_cap(front: Front) -> None:
    body = b"grant_type=client_credentials&pad=" + b"x" * MIB
    reply = front.request("POST", "/token", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 413
    assert reply.content_type.startswith("text/html")


def test_a_path_that_only_begins_like_the_admin_api_keeps_the_1_mib_cap(front: Front) -> None:
    body = _publish_body(2 * MIB)
    reply = front.request("PUT", "/admin/apis-archive/catalogue", body, ADMIN)
    assert reply.status == 413
    assert reply.content_type.startswith("text/html")


@pytest.mark.parametrize("path", ["/metrics", "/metrics?format=prometheus", "//metrics", "/%6Detrics"])
def test_metrics_is_not_served_on_the_public_port_even_with_the_token(front: Front, path: str) -> None:
    reply = front.request("GET", path, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert reply.status == 404
    assert b"walletgate_" not in reply.body


def test_the_gateway_itself_still_serves_metrics_to_the_scraper(front: Front) -> None:
    """The 404 above is nginx's: the same request straight to the replica (the in-cluster scrape) works."""
    request = urllib.request.Request(  # noqa: S310 - loopback test server
        front.gateway.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


def test_readiness_stays_reachable_through_nginx_for_load_balancers(front: Front) -> None:
    reply = front.request("GET", "/readyz")
    assert reply.status == 200
    assert reply.json()["status"] == "ready"
