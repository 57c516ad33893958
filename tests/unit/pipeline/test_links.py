from __future__ import annotations

from typing import Any

from gateway.links import rewrite_links

UPSTREAM = "http://10.0.0.7:8080/open-banking/v4.0/aisp"
PUBLIC = "https://gw.example/open-banking/v4.0/aisp"
TRANSACTIONS = "/accounts/acc-1/transactions"


def _rewritten(links: Any) -> Any:
    body = {"Data": {}, "Links": links, "Meta": {"TotalPages": 3}}
    rewrite_links(body, upstream_bases=[UPSTREAM], public_base=PUBLIC)
    return body["Links"]


def test_self_link_under_the_upstream_base_moves_under_the_public_base() -> None:
    assert _rewritten({"Self": UPSTREAM + "/accounts"}) == {"Self": PUBLIC + "/accounts"}


def test_paging_links_move_under_the_public_base() -> None:
    links = {name: f"{UPSTREAM}{TRANSACTIONS}?page={n}" for name, n in (("First", 1), ("Prev", 1), ("Next", 3))}
    assert _rewritten(links) == {
        name: f"{PUBLIC}{TRANSACTIONS}?page={n}" for name, n in (("First", 1), ("Prev", 1), ("Next", 3))
    }


def test_query_string_is_kept_exactly() -> None:
    query = "?toBookingDateTime=2026-10-31T00%3A00%3A00&fromBookingDateTime=2026-10-01T00:00:00&page=2&x=a+b"
    assert _rewritten({"Next": UPSTREAM + TRANSACTIONS + query}) == {"Next": PUBLIC + TRANSACTIONS + query}


def test_the_upstream_base_itself_moves_to_the_public_base() -> None:
    assert _rewritten({"Self": UPSTREAM}) == {"Self": PUBLIC}


def test_link_to_another_host_is_removed() -> None:
    links = {"Self": UPSTREAM + "/accounts", "Next": "http://10.0.0.8:8080/open-banking/v4.0/aisp/accounts?page=2"}
    assert _rewritten(links) == {"Self": PUBLIC + "/accounts"}


def test_link_on_another_port_or_scheme_is_removed() -> None:
    links = {
        "Next": "http://10.0.0.7:9090/open-banking/v4.0/aisp/x",
        "Last": "https://10.0.0.7:8080/open-banking/v4.0/aisp/x",
    }
    assert _rewritten(links) == {}


def test_link_outside_the_upstream_base_path_is_removed() -> None:
    links = {"Next": "http://10.0.0.7:8080/open-banking/v4.0/pisp/payments", "Last": UPSTREAM + "-admin/accounts"}
    assert _rewritten(links) == {}


def test_link_that_climbs_out_of_the_upstream_base_with_dot_segments_is_removed() -> None:
    links = {"Next": UPSTREAM + "/../internal", "Last": UPSTREAM + "/accounts/%2e%2e/%2E%2E/internal"}
    assert _rewritten(links) == {}


def test_relative_or_malformed_link_is_removed() -> None:
    links = {"Self": "/open-banking/v4.0/aisp/accounts", "Next": "http://10.0.0.7:port/open-banking/v4.0/aisp/x"}
    assert _rewritten(links) == {}


def test_host_case_and_an_explicit_default_port_still_match() -> None:
    body = {"Links": {"Self": "HTTP://Bank.Example:80/aisp/accounts"}}
    rewrite_links(body, upstream_bases=["http://bank.example/aisp"], public_base=PUBLIC)
    assert body["Links"] == {"Self": PUBLIC + "/accounts"}


def test_non_string_link_values_are_removed() -> None:
    links = {"Self": UPSTREAM + "/accounts", "Next": None, "Last": {"href": UPSTREAM + "/x"}}
    assert _rewritten(links) == {"Self": PUBLIC + "/accounts"}


def test_body_without_links_is_untouched() -> None:
    body = {"Data": {"Account": [{"AccountId": "acc-1"}]}, "Meta": {"TotalPages": 1}}
    rewrite_links(body, upstream_bases=[UPSTREAM], public_base=PUBLIC)
    assert body == {"Data": {"Account": [{"AccountId": "acc-1"}]}, "Meta": {"TotalPages": 1}}


def test_links_below_the_top_level_are_untouched() -> None:
    body = {"Data": {"Links": {"Self": "http://elsewhere.test/x"}}, "Links": {"Self": UPSTREAM}}
    rewrite_links(body, upstream_bases=[UPSTREAM], public_base=PUBLIC)
    assert body == {"Data": {"Links": {"Self": "http://elsewhere.test/x"}}, "Links": {"Self": PUBLIC}}


def test_links_that_are_not_an_object_are_untouched() -> None:
    body = {"Links": [UPSTREAM]}
    rewrite_links(body, upstream_bases=[UPSTREAM], public_base=PUBLIC)
    assert body == {"Links": [UPSTREAM]}


def test_a_body_that_is_not_an_object_is_untouched() -> None:
    body = [{"Links": {"Self": UPSTREAM}}]
    rewrite_links(body, upstream_bases=[UPSTREAM], public_base=PUBLIC)
    assert body == [{"Links": {"Self": UPSTREAM}}]


def test_a_self_link_pointing_elsewhere_becomes_the_url_the_wallet_called() -> None:
    body = {"Data": {}, "Links": {"Self": "http://bank.internal/x", "Next": "http://bank.internal/x?page=2"}}
    rewrite_links(body, upstream_bases=[UPSTREAM], public_base=PUBLIC, self_url=PUBLIC + "/accounts")
    assert body["Links"] == {"Self": PUBLIC + "/accounts"}


def test_a_link_under_another_listed_base_moves_under_the_public_base() -> None:
    body = {
        "Data": {},
        "Links": {"Self": "https://api.bank.example/aisp/accounts", "Next": "https://api.bank.example/x"},
    }
    rewrite_links(body, upstream_bases=[UPSTREAM, "https://api.bank.example/aisp/"], public_base=PUBLIC)
    assert body["Links"] == {"Self": PUBLIC + "/accounts"}
