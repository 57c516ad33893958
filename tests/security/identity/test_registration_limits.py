"""Registration is rate limited per source address, before the request is even read."""

from __future__ import annotations

from gateway.limiter.rules import rule_book


def test_registration_refuses_an_address_past_its_limit(make_client) -> None:
    client = make_client()
    services = client.app.state.services
    [per_address] = rule_book(services.policies.limits).endpoint_hits("register", None, "127.0.0.1")
    body = {"client_name": "W", "redirect_uris": ["https://w.example/cb"]}
    for _ in range(per_address.rule.burst):
        assert client.post("/register", json=body).status_code == 400
    response = client.post("/register", json=body)
    assert response.status_code == 429
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["retry-after"]) > 0
