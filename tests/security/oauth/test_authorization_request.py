"""Refusals at /par and /authorize: PKCE, redirect_uri, request_uri, parameters outside PAR."""

from __future__ import annotations

from gateway.oauth.server import AUTHORIZATION_DECISION_WINDOW
from tests.security.oauth.conftest import refused
from tests.unit.oauth.harness import s256


def test_par_without_code_challenge_is_refused(gateway, wallet):
    response = wallet.par(gateway.consent(wallet.client_id), code_challenge=None, code_challenge_method=None)
    refused(response, 400, "invalid_request", "code_challenge is required (PKCE with S256)")


def test_par_with_plain_pkce_is_refused(gateway, wallet):
    response = wallet.par(gateway.consent(wallet.client_id), code_challenge="v" * 43, code_challenge_method="plain")
    refused(response, 400, "invalid_request", "code_challenge_method must be S256, got 'plain'")


def test_par_without_challenge_method_is_refused(gateway, wallet):
    response = wallet.par(gateway.consent(wallet.client_id), code_challenge_method=None)
    refused(response, 400, "invalid_request", "code_challenge_method S256 is required")


def test_par_with_unregistered_redirect_uri_is_refused_without_redirect(gateway, wallet):
    response = wallet.par(gateway.consent(wallet.client_id), redirect_uri="https://wallet.example/cb/../evil")
    refused(response, 400, "invalid_request", "redirect_uri is not one of the client's registered redirect_uris")
    assert "location" not in response.headers


def test_par_for_another_clients_consent_is_refused(gateway, wallet):
    other = gateway.register()
    response = wallet.par(gateway.consent(other.client_id))
    refused(response, 400, "invalid_request", "is unknown to this client")


def test_par_refuses_a_pushed_request_uri(gateway, wallet):
    response = wallet.par(gateway.consent(wallet.client_id), request_uri="urn:x")
    refused(response, 400, "invalid_request", "request_uri may not be pushed")


def authorize(gateway, user="alice", **params):
    gateway.http.cookies.set("test-user", user)
    return gateway.http.get("/authorize", params=params, follow_redirects=False)


def error_page(response, text: str) -> None:
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert text in response.text


def test_authorize_refuses_parameters_outside_the_pushed_request(gateway, wallet):
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    response = authorize(
        gateway, client_id=wallet.client_id, request_uri=request_uri, scope="openid accounts", redirect_uri="x"
    )
    error_page(response, "Parameters outside the pushed authorization request are refused: redirect_uri, scope")


def test_authorize_for_unknown_client_shows_a_page_and_never_redirects(gateway, wallet):
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    error_page(authorize(gateway, client_id="nobody", request_uri=request_uri), "not registered with the bank")


def test_authorize_refuses_expired_request_uri(gateway, wallet):
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    gateway.clock.advance(gateway.services.settings.par_ttl + 1)
    error_page(authorize(gateway, client_id=wallet.client_id, request_uri=request_uri), "request_uri has expired")


def test_the_user_it_was_shown_to_may_load_the_screen_again_until_they_answer(gateway, wallet):
    # A reload, or the screen's own language switch (RFC 9126 §4 allows duplicates from reloading).
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    assert authorize(gateway, client_id=wallet.client_id, request_uri=request_uri).status_code == 200
    again = authorize(gateway, client_id=wallet.client_id, request_uri=request_uri)
    assert again.status_code == 200
    assert "Pocket Wallet" in again.text


def test_authorize_refuses_a_request_uri_shown_to_another_user(gateway, wallet):
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    assert authorize(gateway, "alice", client_id=wallet.client_id, request_uri=request_uri).status_code == 200
    refusal = authorize(gateway, "bob", client_id=wallet.client_id, request_uri=request_uri)
    error_page(refusal, "request_uri was already used")


def test_authorize_refuses_a_request_uri_already_answered(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "reject"}
    assert gateway.http.post("/authorize/decision", data=form, follow_redirects=False).status_code == 303
    error_page(authorize(gateway, client_id=wallet.client_id, request_uri=request_uri), "request_uri was already used")


def test_authorize_refuses_a_request_uri_shown_longer_ago_than_a_decision_may_take(gateway, wallet):
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    assert authorize(gateway, client_id=wallet.client_id, request_uri=request_uri).status_code == 200
    gateway.clock.advance(AUTHORIZATION_DECISION_WINDOW + 1)
    error_page(authorize(gateway, client_id=wallet.client_id, request_uri=request_uri), "request_uri was already used")


def test_authorize_refuses_request_uri_of_another_client(gateway, wallet):
    other = gateway.register()
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    error_page(
        authorize(gateway, client_id=other.client_id, request_uri=request_uri),
        "request_uri was pushed by another client",
    )


def test_authorize_sends_anonymous_user_to_login_without_spending_request_uri(gateway, wallet):
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    gateway.http.cookies.clear()
    response = gateway.http.get(
        "/authorize", params={"client_id": wallet.client_id, "request_uri": request_uri}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fauthorize%3Fclient_id%3D")
    assert authorize(gateway, client_id=wallet.client_id, request_uri=request_uri).status_code == 200


def screen(gateway, wallet, user="alice"):
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    page = authorize(gateway, user, client_id=wallet.client_id, request_uri=request_uri)
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return request_uri, csrf, page


def test_screen_shows_wallet_permissions_and_unticked_accounts(gateway, wallet):
    _, _, page = screen(gateway, wallet)
    assert "Pocket Wallet" in page.text
    assert "Your account balance" in page.text
    assert "Rainy day" in page.text
    assert "checked" not in page.text
    assert page.headers["x-frame-options"] == "DENY"


def test_decision_refuses_an_account_the_user_does_not_hold(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "approve", "account_id": ["acc-bob-1"]}
    response = gateway.http.post("/authorize/decision", data=form, follow_redirects=False)
    assert response.status_code == 200
    assert "Choose at least one of your accounts" in response.text


def test_decision_refuses_a_forged_csrf_token(gateway, wallet):
    request_uri, _, _ = screen(gateway, wallet)
    form = {"request_uri": request_uri, "csrf": "forged", "decision": "approve", "account_id": ["acc-alice-1"]}
    error_page(gateway.http.post("/authorize/decision", data=form, follow_redirects=False), "The form has expired")


def test_decision_by_another_user_is_refused(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    gateway.http.cookies.set("test-user", "bob")
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "approve", "account_id": ["acc-bob-1"]}
    error_page(gateway.http.post("/authorize/decision", data=form, follow_redirects=False), "does not belong")


def test_reject_redirects_with_access_denied_and_iss(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "reject"}
    response = gateway.http.post("/authorize/decision", data=form, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("https://wallet.example/cb?error=access_denied")
    assert "state=st-1" in location
    assert "iss=http%3A%2F%2Ftestserver" in location


def test_approve_redirect_carries_code_state_and_iss(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "approve", "account_id": ["acc-alice-1"]}
    response = gateway.http.post("/authorize/decision", data=form, follow_redirects=False)
    location = response.headers["location"]
    assert "code=" in location
    assert "state=st-1" in location
    assert "iss=http%3A%2F%2Ftestserver" in location
    again = gateway.http.post("/authorize/decision", data=form, follow_redirects=False)
    error_page(again, "already answered")


def test_s256_helper_matches_rfc7636_appendix_b():
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_marketing_consent_needs_the_separate_opt_in_box(gateway, wallet):
    consent_id = gateway.consent_for(wallet.client_id, purposes=("marketing",), permissions=("ReadAccountsBasic",))
    request_uri = wallet.request_uri(consent_id)
    page = authorize(gateway, client_id=wallet.client_id, request_uri=request_uri)
    assert 'name="marketing_opt_in"' in page.text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "approve", "account_id": ["acc-alice-1"]}
    error_page(gateway.http.post("/authorize/decision", data=form, follow_redirects=False), "requires_explicit_opt_in")


def test_marketing_consent_with_opt_in_is_authorised(gateway, wallet):
    consent_id = gateway.consent_for(wallet.client_id, purposes=("marketing",), permissions=("ReadAccountsBasic",))
    request_uri = wallet.request_uri(consent_id)
    page = authorize(gateway, client_id=wallet.client_id, request_uri=request_uri)
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {
        "request_uri": request_uri,
        "csrf": csrf,
        "decision": "approve",
        "account_id": ["acc-alice-1"],
        "marketing_opt_in": "yes",
    }
    assert gateway.http.post("/authorize/decision", data=form, follow_redirects=False).status_code == 303
    assert gateway.run(gateway.services.consents.get, consent_id).marketing_opt_in is True


def _approve_with(gateway, wallet, consent_id, **extra):
    request_uri = wallet.request_uri(consent_id)
    page = authorize(gateway, client_id=wallet.client_id, request_uri=request_uri)
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "approve", "account_id": ["acc-alice-1"]} | extra
    assert gateway.http.post("/authorize/decision", data=form, follow_redirects=False).status_code == 303
    return gateway.run(gateway.services.consents.get, consent_id)


def test_approving_a_consent_that_asks_no_opt_in_records_no_opt_in_answer(gateway, wallet):
    consent = _approve_with(gateway, wallet, gateway.consent(wallet.client_id))
    assert consent.marketing_opt_in is None


def test_an_opt_in_the_screen_never_asked_for_is_not_recorded_when_the_form_sends_one(gateway, wallet):
    consent = _approve_with(gateway, wallet, gateway.consent(wallet.client_id), marketing_opt_in="yes")
    assert consent.marketing_opt_in is None


def test_an_unticked_opt_in_is_recorded_as_declined(gateway, wallet):
    bundled = gateway.consent_for(
        wallet.client_id, purposes=("aggregation", "marketing"), permissions=("ReadAccountsBasic", "ReadBalances")
    )
    consent = _approve_with(gateway, wallet, bundled)
    assert (consent.purposes, consent.marketing_opt_in) == (("aggregation",), False)


def test_bank_outage_during_authorization_shows_a_page_not_json(gateway, wallet):
    request_uri = wallet.request_uri(gateway.consent(wallet.client_id))
    gateway.run(gateway.bank.cleanup)
    response = authorize(gateway, client_id=wallet.client_id, request_uri=request_uri)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "could not be reached to list the user" in response.text


def test_authorize_without_a_request_uri_shows_a_page(gateway, wallet):
    response = authorize(gateway, client_id=wallet.client_id)
    error_page(response, "request_uri is missing; start the authorization at /par.")


def test_decision_after_logging_out_is_refused(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    gateway.http.cookies.delete("test-user")
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "approve", "account_id": ["acc-alice-1"]}
    error_page(gateway.http.post("/authorize/decision", data=form, follow_redirects=False), "You are not logged in")


def test_decision_other_than_approve_or_reject_is_refused(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "maybe", "account_id": ["acc-alice-1"]}
    error_page(gateway.http.post("/authorize/decision", data=form, follow_redirects=False), "Choose Approve or Reject.")


def test_a_request_is_answered_only_once(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "reject"}
    assert gateway.http.post("/authorize/decision", data=form, follow_redirects=False).status_code == 303
    again = gateway.http.post("/authorize/decision", data=form, follow_redirects=False)
    error_page(again, "this authorization request was already answered")


def test_decision_after_the_window_has_closed_is_refused(gateway, wallet):
    request_uri, csrf, _ = screen(gateway, wallet)
    gateway.clock.advance(AUTHORIZATION_DECISION_WINDOW + gateway.services.settings.clock_skew + 1)
    form = {"request_uri": request_uri, "csrf": csrf, "decision": "reject"}
    error_page(gateway.http.post("/authorize/decision", data=form, follow_redirects=False), "The form has expired")
