"""Tell the wallet's (or browser's) address from the address of the reverse proxy it came through.

One rule for the whole gateway, applied here and nowhere else:

- The *peer* is the TCP peer, ``request.client.host``. ``walletgate serve`` starts uvicorn with
  ``proxy_headers=False``, so uvicorn never replaces it with an X-Forwarded-For value: were it
  on, ``request.client`` would already be the wallet's claimed address, the client-certificate
  header would be believed or refused by the wrong address, and the header would be read twice
  under two different rules (uvicorn's exact-address list and ours).
- ``peer_is_trusted``: the peer is one of ``settings.trusted_proxies`` (addresses or CIDR
  networks). Only then are X-Forwarded-For and the client-certificate header believed.
- ``client_address``: from a trusted peer, X-Forwarded-For is walked from the right, skipping
  trusted proxies, and the first untrusted address is the client; a malformed entry stops the
  walk at the last good address. From any other peer the peer itself is the client and
  X-Forwarded-For is ignored, so a wallet cannot choose its own address.

The client address keys the per-address limits of the OAuth endpoints and the login throttle.
The pipeline's ``Call.client_ip`` (and the ``client_ip`` given to ``authenticate_request``)
stays the peer: its one use is deciding whether to believe the client-certificate header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import Request

from gateway.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def peer_is_trusted(peer: str | None, settings: Settings) -> bool:
    """Whether the TCP peer ``peer`` is one of the trusted reverse proxies."""
    address = _parse(peer)
    return address is not None and _trusted(address, settings)


def client_address(peer: str | None, forwarded_for: Sequence[str], settings: Settings) -> str | None:
    """The client's address, normalised (``0:0::1`` is ``::1``); an unparsable peer is returned as it is.

    ``forwarded_for`` holds the values of every X-Forwarded-For header in the order received;
    they are read as one comma-separated list.
    """
    current = _parse(peer)
    if current is None:
        return peer
    if not _trusted(current, settings):
        return str(current)
    for entry in reversed(_entries(forwarded_for)):
        hop = _parse(entry)
        if hop is None:
            break
        current = hop
        if not _trusted(hop, settings):
            break
    return str(current)


def request_client_address(request: Request, settings: Settings) -> str | None:
    """``client_address`` of a Starlette request."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), settings)


def _entries(values: Iterable[str]) -> list[str]:
    return [entry.strip() for value in values for entry in value.split(",")]


def _parse(text: str | None) -> Address | None:
    """The address in ``text``; an IPv4 address mapped into IPv6 (``::ffff:10.0.0.1``) is the IPv4 one."""
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, settings: Settings) -> bool:
    return any(address in network for network in settings.trusted_proxies)
