"""The bank's upstream URL and the gateway base path a policy names: refused when they could mislead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from policies.apis import load_api
from policies.errors import PolicyError
from policies.permissions import PermissionCatalogue
from tests.unit.policies_apis.conftest import POLICY

UPSTREAM = "upstream: ${{upstream_url}}/open-banking/v4.0/aisp"


def _refusal(write_policy: Callable[..., Path], catalogue: PermissionCatalogue, text: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_api(write_policy(text), catalogue)
    return str(info.value)


def _with_upstream(upstream: str) -> str:
    return POLICY.replace(UPSTREAM, f"upstream: {upstream}")


@pytest.mark.parametrize(
    "upstream", ["ftp://bank.example/aisp", "file:///etc/passwd", "gopher://bank.example", "bank.example/aisp"]
)
def test_loader_refuses_an_upstream_that_is_not_http(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue, upstream: str
) -> None:
    message = _refusal(write_policy, catalogue, _with_upstream(upstream))
    assert f"accounts.yaml:3: upstream: expected an http(s) URL, found '{upstream}'" in message


@pytest.mark.parametrize(
    "upstream",
    ["https://gateway:s3cret@bank.example/aisp", "https://token@bank.example", "${{upstream_url}}@evil.example"],
)
def test_loader_refuses_an_upstream_with_credentials(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue, upstream: str
) -> None:
    message = _refusal(write_policy, catalogue, _with_upstream(upstream))
    assert "accounts.yaml:3: upstream: a URL with credentials (user:password@) is refused" in message
    assert "s3cret" not in message


def test_loader_refuses_a_link_base_with_credentials(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue
) -> None:
    text = POLICY.replace("base_path:", "link_bases: [https://user:pw@api.bank.example/aisp]\nbase_path:")
    assert "link_bases[0]: a URL with credentials (user:password@) is refused" in _refusal(
        write_policy, catalogue, text
    )


@pytest.mark.parametrize("upstream", ["https://bank.example/aisp?key=1", "https://bank.example/aisp#top"])
def test_loader_refuses_an_upstream_with_a_query_or_fragment(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue, upstream: str
) -> None:
    message = _refusal(write_policy, catalogue, _with_upstream(upstream))
    assert f"upstream: a base URL has no query or fragment, found '{upstream}'" in message


@pytest.mark.parametrize("upstream", ["https://bank.example:99999/aisp", "https://bank.example:0/aisp"])
def test_loader_refuses_an_upstream_port_out_of_range(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue, upstream: str
) -> None:
    assert "upstream: the port is not a number from 1 to 65535" in _refusal(
        write_policy, catalogue, _with_upstream(upstream)
    )


@pytest.mark.parametrize(
    "upstream",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://2852039166/latest",  # 169.254.169.254 as one number, as resolvers read it
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/",
        "http://0.0.0.0:8100",
    ],
)
def test_loader_refuses_an_upstream_on_a_link_local_or_unspecified_address(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue, upstream: str
) -> None:
    message = _refusal(write_policy, catalogue, _with_upstream(upstream))
    assert "is a link-local, unspecified or multicast address, never a bank's upstream" in message


@pytest.mark.parametrize(
    "upstream", ["http://127.0.0.1:8100/aisp", "http://10.1.2.3/aisp", "https://offers.bank.internal/v1"]
)
def test_loader_accepts_an_upstream_inside_the_banks_network(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue, upstream: str
) -> None:
    assert load_api(write_policy(_with_upstream(upstream)), catalogue).upstream == upstream


@pytest.mark.parametrize("base_path", ["/open-banking/../admin", "/open-banking/./aisp", "/.."])
def test_loader_refuses_a_base_path_with_dot_segments(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue, base_path: str
) -> None:
    text = POLICY.replace("base_path: /open-banking/v4.0/aisp", f"base_path: {base_path}")
    message = _refusal(write_policy, catalogue, text)
    assert f"accounts.yaml:4: base_path: '.' and '..' segments are not allowed, found '{base_path}'" in message


@pytest.mark.parametrize("base_path", ["/", "/open-banking/", "//open-banking", "/open%2Fbanking", "open-banking"])
def test_loader_refuses_a_base_path_that_is_not_plain_segments(
    write_policy: Callable[..., Path], catalogue: PermissionCatalogue, base_path: str
) -> None:
    text = POLICY.replace("base_path: /open-banking/v4.0/aisp", f"base_path: '{base_path}'")
    assert "accounts.yaml:4: base_path: " in _refusal(write_policy, catalogue, text)
