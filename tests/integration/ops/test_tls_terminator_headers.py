"""The shipped nginx TLS terminator sets the forwarding headers itself: what a wallet sends under those
names never reaches the gateway (the certificate header is checked in tests/security/ops/test_tls_proxy.py)."""

from __future__ import annotations

import json

import pytest

from tests.integration.ops.nginx import NGINX
from tests.security.ops.test_tls_proxy import Proxy, proxy  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)"),
]

FORGED = {
    "X-Forwarded-For": "203.0.113.66",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "80",
    "X-Forwarded-Prefix": "/evil",
    "X-Real-IP": "203.0.113.66",
    "Forwarded": "for=203.0.113.66;host=evil.example;proto=http",
}


def test_forwarding_headers_a_wallet_sends_are_replaced_or_dropped(proxy: Proxy) -> None:  # noqa: F811
    status, body = proxy.get(FORGED)
    assert status == 200
    received = json.loads(body)
    assert received["x-forwarded-for"] == "127.0.0.1"
    assert received["x-forwarded-proto"] == "https"
    forged_left = {name.lower() for name in FORGED} - {"x-forwarded-for", "x-forwarded-proto"}
    assert sorted(forged_left & set(received)) == []
