"""Behind a reverse proxy: the certificate header is believed by the TCP peer, the limits count the wallet.

Every request here comes from the TestClient's peer, 127.0.0.1; each test decides whether that
peer is a trusted proxy through ``trusted_proxies``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.settings import Settings
from policies.limits import load_limits
from tests.security.oauth.conftest import refused
from tests.security.oauth.test_mtls_binding import mtls_wallet, token
from tests.unit.identity.certs import make_certificate
from tests.unit.oauth.harness import Gateway, running_gateway

TRUSTING_THE_PEER = "127.0.0.0/8"
NOT_TRUSTING_THE_PEER = "10.0.0.0/8"
ONE_CALL_AN_HOUR = "{rate: 1, per: 1h, burst: 1}"


@pytest.fixture
def start(tmp_path: Path, settings_factory: Callable[..., Settings]) -> Iterator[Callable[[str], Gateway]]:
    """A gateway with the given ``trusted_proxies`` and a per-address limit of one /token and one /par an hour."""
    shipped = Path(settings_factory().policies_dir) / "limits.yaml"
    per_address = "per_address: {rate: 50, per: 1s, burst: 100}"
    tight = tmp_path / "limits.yaml"
    tight.write_text(shipped.read_text().replace(per_address, f"per_address: {ONE_CALL_AN_HOUR}"))
    running: list[Iterator[Gateway]] = []

    def make(trusted_proxies: str) -> Gateway:
        started = running_gateway(tmp_path, settings_factory, trusted_proxies=trusted_proxies)
        running.append(started)
        gateway = next(started)
        gateway.services.policies = dataclasses.replace(gateway.services.policies, limits=load_limits(tight))
        return gateway

    yield make
    for started in running:
        next(started, None)  # runs the rest of running_gateway: the bank and the app stop


def _certificate_token(gateway: Gateway, forwarded_for: str) -> Any:
    """A tls_client_auth token request carrying the wallet's certificate header, through the proxy."""
    wallet, cert = mtls_wallet(gateway), make_certificate("mtls-wallet", org="Wallet Ltd")
    return token(gateway, wallet, cert, **{"X-Forwarded-For": forwarded_for})


def _anonymous_post(gateway: Gateway, path: str, forwarded_for: str) -> int:
    return int(
        gateway.http.post(path, data={"client_id": "nobody"}, headers={"X-Forwarded-For": forwarded_for}).status_code
    )


def test_certificate_header_from_a_trusted_proxy_is_believed_whatever_x_forwarded_for_says(
    start: Callable[[str], Gateway],
) -> None:
    assert _certificate_token(start(TRUSTING_THE_PEER), "203.0.113.9").status_code == 200


def test_certificate_header_from_an_untrusted_peer_is_ignored_even_naming_a_trusted_proxy(
    start: Callable[[str], Gateway],
) -> None:
    response = _certificate_token(start(NOT_TRUSTING_THE_PEER), "10.0.0.1")
    refused(response, 401, "invalid_client", "tls_client_auth needs a client certificate")


@pytest.mark.parametrize("path", ["/token", "/par"])
def test_wallets_behind_one_trusted_proxy_have_their_own_address_limits(
    start: Callable[[str], Gateway], path: str
) -> None:
    gateway = start(TRUSTING_THE_PEER)
    assert _anonymous_post(gateway, path, "203.0.113.1") != 429
    assert _anonymous_post(gateway, path, "203.0.113.1") == 429
    assert _anonymous_post(gateway, path, "203.0.113.2") != 429


@pytest.mark.parametrize("path", ["/token", "/par"])
def test_a_forged_x_forwarded_for_from_an_untrusted_peer_stays_in_the_peers_bucket(
    start: Callable[[str], Gateway], path: str
) -> None:
    gateway = start(NOT_TRUSTING_THE_PEER)
    assert _anonymous_post(gateway, path, "203.0.113.1") != 429
    assert _anonymous_post(gateway, path, "203.0.113.2") == 429
