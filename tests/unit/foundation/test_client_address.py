"""The client's address: X-Forwarded-For believed from trusted proxies only, walked from the right."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.client_address import client_address, peer_is_trusted
from gateway.settings import Settings

PROXY = "10.244.1.7"  # an ingress pod inside the trusted network
WALLET = "203.0.113.9"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(trusted_proxies="10.244.0.0/16,192.0.2.1,fd00::/8")


def test_a_peer_inside_a_trusted_network_is_trusted(settings: Settings) -> None:
    assert peer_is_trusted(PROXY, settings)


def test_a_peer_equal_to_a_trusted_single_address_is_trusted(settings: Settings) -> None:
    assert peer_is_trusted("192.0.2.1", settings)


def test_a_peer_next_to_a_trusted_single_address_is_not_trusted(settings: Settings) -> None:
    assert not peer_is_trusted("192.0.2.2", settings)


def test_a_peer_inside_a_trusted_ipv6_network_is_trusted(settings: Settings) -> None:
    assert peer_is_trusted("fd00:0:0::12", settings)


def test_an_ipv4_peer_mapped_into_ipv6_is_trusted_as_its_ipv4_address(settings: Settings) -> None:
    assert peer_is_trusted(f"::ffff:{PROXY}", settings)


@pytest.mark.parametrize("peer", [None, "", "testclient", "10.244.1.7:443"])
def test_a_missing_or_unparsable_peer_is_not_trusted(settings: Settings, peer: Any) -> None:
    assert not peer_is_trusted(peer, settings)


def test_x_forwarded_for_from_a_trusted_peer_names_the_client(settings: Settings) -> None:
    assert client_address(PROXY, [WALLET], settings) == WALLET


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(settings: Settings) -> None:
    assert client_address(WALLET, ["198.51.100.1"], settings) == WALLET


def test_without_x_forwarded_for_a_trusted_peer_is_the_client(settings: Settings) -> None:
    assert client_address(PROXY, [], settings) == PROXY


def test_trusted_proxies_are_skipped_from_the_right(settings: Settings) -> None:
    assert client_address(PROXY, [f"{WALLET}, 192.0.2.1, 10.244.9.9"], settings) == WALLET


def test_only_the_first_untrusted_hop_from_the_right_counts(settings: Settings) -> None:
    """Whatever the wallet wrote to the left of its own address is its claim, not ours."""
    assert client_address(PROXY, [f"198.51.100.66, {WALLET}"], settings) == WALLET


def test_several_x_forwarded_for_headers_are_read_as_one_list_in_order(settings: Settings) -> None:
    assert client_address(PROXY, ["198.51.100.66", f"{WALLET}, 192.0.2.1"], settings) == WALLET


def test_a_malformed_entry_stops_the_walk_at_the_last_good_address(settings: Settings) -> None:
    assert client_address(PROXY, [f"{WALLET}, not-an-address, 192.0.2.1"], settings) == "192.0.2.1"


def test_a_malformed_last_entry_leaves_the_peer_as_the_client(settings: Settings) -> None:
    assert client_address(PROXY, [f"{WALLET}, unknown"], settings) == PROXY


def test_an_entry_with_a_port_is_malformed(settings: Settings) -> None:
    assert client_address(PROXY, [f"{WALLET}:4711"], settings) == PROXY


def test_an_ipv6_client_behind_a_trusted_ipv6_proxy_is_found(settings: Settings) -> None:
    assert client_address("fd00::5", ["2001:db8::7"], settings) == "2001:db8::7"


def test_addresses_are_normalised_so_one_client_has_one_spelling(settings: Settings) -> None:
    assert client_address(PROXY, ["2001:0db8:0:0::0007"], settings) == "2001:db8::7"


def test_an_unparsable_peer_is_returned_as_it_is(settings: Settings) -> None:
    assert client_address("testclient", [WALLET], settings) == "testclient"


def test_no_peer_gives_no_address(settings: Settings) -> None:
    assert client_address(None, [WALLET], settings) is None
