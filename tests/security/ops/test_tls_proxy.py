"""The shipped nginx TLS terminator: only a certificate nginx verified reaches the gateway.

Debian's nginx runs deploy/nginx/nginx-sidecar.conf on loopback in front of a small upstream
that answers with the headers it received, so each test sees exactly what the gateway would.
"""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from gateway.settings import Settings
from tests.integration.ops.nginx import NGINX, Issued, NginxConfig, issue, make_ca, wait_for_listener
from tests.support.servers import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)"),
]

HEADER = Settings().client_cert_header


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class Proxy:
    port: int
    ca_pem: bytes
    wallet: Issued  # issued by the CA nginx trusts for clients
    rogue: Issued  # issued by a CA nginx does not trust
    folder: Path

    def context(self, client: Issued | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        if client is not None:
            (self.folder / "client.pem").write_bytes(client.cert_pem + client.key_pem)
            context.load_cert_chain(self.folder / "client.pem")
        return context

    def get(self, headers: dict[str, str], client: Issued | None = None, **kw: ssl.SSLContext) -> tuple[int, bytes]:
        context = kw.get("context") or self.context(client)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=10)
        try:
            conn.request("GET", "/open-banking/v4.0/aisp/accounts", headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    ca, ca_key, ca_cert = make_ca("walletgate test CA")
    _, rogue_key, rogue_cert = make_ca("somebody else's CA")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    config = NginxConfig(
        tmp_path / "nginx", "nginx-sidecar.conf", port, {"127.0.0.1:8000": f"127.0.0.1:{upstream.server_address[1]}"}
    )
    config.write(issue(ca_key, ca_cert, "127.0.0.1", server=True), ca.cert_pem)
    log = (tmp_path / "nginx.log").open("wb")
    nginx = subprocess.Popen(config.command("-g", "daemon off;"), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_listener(port, nginx)
        yield Proxy(
            port,
            ca.cert_pem,
            issue(ca_key, ca_cert, "wallet-1"),
            issue(rogue_key, rogue_cert, "wallet-1"),
            tmp_path,
        )
    finally:
        nginx.terminate()
        nginx.wait(10)
        log.close()
        upstream.shutdown()
        upstream.server_close()


def test_a_forged_certificate_header_without_a_certificate_is_dropped(proxy: Proxy) -> None:
    forged = {HEADER: "-----BEGIN%20CERTIFICATE-----forged", "X-Client-Cert": "forged"}
    status, body = proxy.get(forged)
    assert status == 200
    received = json.loads(body)
    assert HEADER not in received
    assert "x-client-cert" not in received


def test_a_verified_certificate_is_forwarded_url_encoded_and_replaces_a_forged_one(proxy: Proxy) -> None:
    status, body = proxy.get({HEADER: "forged"}, client=proxy.wallet)
    assert status == 200
    forwarded = json.loads(body)[HEADER]
    assert "%0A" in forwarded or "%20" in forwarded  # URL-encoded PEM, one line
    assert unquote(forwarded).strip().encode() == proxy.wallet.cert_pem.strip()


def test_a_certificate_from_an_untrusted_ca_is_refused_before_the_gateway(proxy: Proxy) -> None:
    status, body = proxy.get({}, client=proxy.rogue)
    assert status == 400
    assert b"SSL certificate error" in body


def test_tls_1_2_with_a_fapi_cipher_suite_is_accepted(proxy: Proxy) -> None:
    context = proxy.context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    assert proxy.get({}, context=context)[0] == 200


def test_tls_1_2_without_a_fapi_cipher_suite_is_refused(proxy: Proxy) -> None:
    context = proxy.context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-AES128-SHA256")
    with pytest.raises(ssl.SSLError):
        proxy.get({}, context=context)
