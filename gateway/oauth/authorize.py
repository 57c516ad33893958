"""``/authorize``: redeem a pushed request, show the user what the wallet asks, act on their answer.

GET ``/authorize?client_id=…&request_uri=…`` accepts those two parameters and nothing else.
Anything that cannot be trusted to a redirect (unknown client, bad or spent ``request_uri``,
extra parameters) renders an error page. A ``request_uri`` is spent by the first user it is
shown to; that user may load the screen again (a reload, the language switch) until they answer
it. A user who is not logged in is sent to ``/login?next=…``. POST ``/authorize/decision``
carries the answer: Approve with the chosen accounts authorises the consent and redirects with
``code``, ``state`` and ``iss`` (RFC 9207); Reject rejects the consent and redirects with
``error=access_denied``.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote, urlencode

import jwt
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from consent.errors import ConsentError
from consent.model import Consent, ConsentStatus
from gateway.accounts import list_user_accounts
from gateway.errors import GatewayError, interaction_id
from gateway.oauth.clients import Client
from gateway.oauth.consents import find_consent
from gateway.oauth.errors import InvalidRequestUriError
from gateway.oauth.server import AUTHORIZATION_DECISION_WINDOW, AuthorizationServer, oauth_server
from gateway.oauth.store import CodeGrant, digest
from gateway.oauth.tokens import new_secret
from gateway.portal.authorize_screen import ScreenContext, render_error_page, render_screen
from gateway.services import Services

_ALLOWED_PARAMS = frozenset({"client_id", "request_uri"})
_CSRF_TYP = "wg-csrf+jwt"
_REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # the Location carries a code


class AuthorizePageError(GatewayError):
    """Shown as a page, never redirected: the redirect target cannot be trusted yet."""


def _csrf_token(services: Services, user_id: str, request_uri: str) -> str:
    now = int(services.clock())
    claims = {"sub": user_id, "ru": digest(request_uri), "iat": now, "exp": now + int(AUTHORIZATION_DECISION_WINDOW)}
    return services.keys.sign(claims, typ=_CSRF_TYP)


def _check_csrf(services: Services, token: str, user_id: str, request_uri: str) -> None:
    try:
        claims = services.keys.verify(token, typ=_CSRF_TYP, leeway=services.settings.clock_skew, now=services.clock())
    except jwt.InvalidTokenError:
        raise AuthorizePageError(
            "The form has expired or was not sent by this page; start again from the wallet."
        ) from None
    if claims.get("sub") != user_id or not hmac.compare_digest(str(claims.get("ru")), digest(request_uri)):
        raise AuthorizePageError("The form does not belong to this authorization request.")


def _redirect(params: dict[str, Any], services: Services, **values: str) -> RedirectResponse:
    query = dict(values)
    if params.get("state") is not None:
        query["state"] = params["state"]
    query["iss"] = services.settings.issuer_url
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return RedirectResponse(params["redirect_uri"] + separator + urlencode(query), 303, _REDIRECT_HEADERS)


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + ("?" + request.url.query if request.url.query else "")
    return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)


async def _client(server: AuthorizationServer, client_id: str) -> Client:
    client = await server.clients.get(client_id) if client_id else None
    if client is None:
        raise AuthorizePageError("This wallet is not registered with the bank.", path="client_id")
    return client


async def _pending_consent(server: AuthorizationServer, params: dict[str, Any]) -> Consent | None:
    consent = await find_consent(server.consents, params["consent_id"])
    if consent is None or consent.client_id != params["client_id"]:
        return None
    return consent if consent.status is ConsentStatus.AWAITING_AUTHORISATION else None


async def _screen(
    request: Request, services: Services, client: Client, consent: Consent, user_id: str, request_uri: str, error: str
) -> Response:
    accounts = await list_user_accounts(services, user_id, client.client_id, interaction_id(request))
    context = ScreenContext(
        client=client,
        consent=consent,
        accounts=accounts,
        request_uri=request_uri,
        csrf=_csrf_token(services, user_id, request_uri),
        request=request,
        error=error,
    )
    return render_screen(services, context)


async def authorize(request: Request) -> Response:
    services, server = oauth_server(request)
    try:
        extra = sorted(set(request.query_params.keys()) - _ALLOWED_PARAMS)
        if extra or any(len(request.query_params.getlist(k)) > 1 for k in _ALLOWED_PARAMS):
            raise AuthorizePageError(
                f"Parameters outside the pushed authorization request are refused: {', '.join(extra) or 'repeated'}."
                " Push every parameter to /par and send only client_id and request_uri."
            )
        client = await _client(server, request.query_params.get("client_id", ""))
        request_uri = request.query_params.get("request_uri", "")
        if not request_uri:
            raise AuthorizePageError("request_uri is missing; start the authorization at /par.", path="request_uri")
        user_id = await server.session_user(request)
        if user_id is None:
            return _login_redirect(request)
        params = await _shown_params(server, request_uri, client.client_id, user_id, services.clock())
        consent = await _pending_consent(server, params)
        if consent is None:
            message = "the consent is no longer awaiting authorisation"
            return _redirect(params, services, error="invalid_request", error_description=message)
        return await _screen(request, services, client, consent, user_id, request_uri, error="")
    except (GatewayError, ConsentError) as exc:
        return render_error_page(
            services, exc.message, status=exc.status if exc.status >= 500 else 400, request=request
        )


async def _shown_params(
    server: AuthorizationServer, request_uri: str, client_id: str, user_id: str, now: float
) -> dict[str, Any]:
    """Spend the pushed request for ``user_id``, or, when it is already shown to that user and not yet
    answered, show it again: a reload, or the screen's language switch (RFC 9126 §4 allows duplicate
    requests from the user reloading). Another user, another client, or an answered request is refused."""
    try:
        return await server.store.redeem_par(request_uri, client_id, user_id, now)
    except InvalidRequestUriError as spent:
        if "already used" not in spent.message:
            raise
        try:
            params = await server.store.shown_par(request_uri, user_id, now - AUTHORIZATION_DECISION_WINDOW)
        except InvalidRequestUriError:
            raise spent from None
        if params.get("client_id") != client_id:
            raise spent from None
        return params


def _one(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _approve(
    services: Services,
    server: AuthorizationServer,
    params: dict[str, Any],
    user_id: str,
    accounts: list[str],
    opt_in: bool,
) -> Response:
    if server.consents is None:
        raise AuthorizePageError("Consents are not available on this gateway.")
    await server.consents.authorise(
        params["consent_id"], user_id=user_id, account_ids=accounts, marketing_opt_in=opt_in
    )
    code = new_secret()
    now = services.clock()
    await server.store.create_code(
        CodeGrant(
            code_hash=digest(code),
            client_id=params["client_id"],
            user_id=user_id,
            consent_id=params["consent_id"],
            redirect_uri=params["redirect_uri"],
            code_challenge=params["code_challenge"],
            dpop_jkt=params.get("dpop_jkt"),
            scope=params["scope"],
            nonce=params.get("nonce"),
            auth_time=now,
            expires_at=now + services.settings.authorization_code_ttl,
        )
    )
    return _redirect(params, services, code=code)


async def decide(request: Request) -> Response:
    """The user's answer from the authorization screen."""
    services, server = oauth_server(request)
    form = await request.form(max_files=0, max_fields=200)
    request_uri, decision = _one(form, "request_uri"), _one(form, "decision")
    chosen = [v for v in form.getlist("account_id") if isinstance(v, str)]
    try:
        user_id = await server.session_user(request)
        if user_id is None:
            raise AuthorizePageError("You are not logged in any more; start again from the wallet.")
        _check_csrf(services, _one(form, "csrf"), user_id, request_uri)
        if decision not in ("approve", "reject"):
            raise AuthorizePageError("Choose Approve or Reject.", path="decision")
        shown_since = services.clock() - AUTHORIZATION_DECISION_WINDOW
        if decision == "approve":
            offered = await _offered_accounts(request, services, server, request_uri, user_id)
            if not chosen or not set(chosen) <= offered:
                return await _choose_again(request, services, server, request_uri, user_id)
        params = await server.store.decide_par(request_uri, user_id, services.clock(), shown_since)
        if decision == "reject":
            if server.consents is not None:
                await server.consents.reject(params["consent_id"], user_id=user_id)
            return _redirect(params, services, error="access_denied", error_description="the user rejected the request")
        opt_in = _one(form, "marketing_opt_in") == "yes"
        return await _approve(services, server, params, user_id, list(dict.fromkeys(chosen)), opt_in)
    except (GatewayError, ConsentError) as exc:
        return render_error_page(
            services, exc.message, status=exc.status if exc.status >= 500 else 400, request=request
        )


async def _offered_accounts(
    request: Request, services: Services, server: AuthorizationServer, request_uri: str, user_id: str
) -> set[str]:
    params = await server.store.shown_par(request_uri, user_id, services.clock() - AUTHORIZATION_DECISION_WINDOW)
    accounts = await list_user_accounts(services, user_id, params["client_id"], interaction_id(request))
    return {str(a["AccountId"]) for a in accounts}


async def _choose_again(
    request: Request, services: Services, server: AuthorizationServer, request_uri: str, user_id: str
) -> Response:
    params = await server.store.shown_par(request_uri, user_id, services.clock() - AUTHORIZATION_DECISION_WINDOW)
    client = await _client(server, params["client_id"])
    consent = await _pending_consent(server, params)
    if consent is None:
        raise AuthorizePageError("This consent is no longer awaiting your decision.")
    message = "Choose at least one of your accounts to share, or reject the request."
    return await _screen(request, services, client, consent, user_id, request_uri, error=message)


ROUTES = [
    Route("/authorize", authorize, methods=["GET"]),
    Route("/authorize/decision", decide, methods=["POST"]),
]
