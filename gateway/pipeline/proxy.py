"""Send the call to the bank: pooled client, the clipped query, and the signed gateway assertion.

The bank learns who is asking (wallet, user, consent, accounts, permissions, purposes) from
the ``x-walletgate-assertion`` header, which it verifies against the gateway's JWKS. Only the
headers the bank needs are forwarded; the wallet's access token and DPoP proof stay here.
"""

from __future__ import annotations

import time

from gateway.assertion import ASSERTION_HEADER, mint_assertion
from gateway.errors import GatewayError
from gateway.pipeline.call import Call
from gateway.telemetry import W3C

_HOP_BY_HOP = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)
_FORWARDED = ("x-fapi-customer-ip-address", "x-fapi-auth-date", "x-customer-user-agent", "accept", "content-type")


async def proxy(call: Call) -> None:
    api = call.api
    if api is None:
        raise GatewayError("The request was not routed.")
    headers = _passthrough_headers(call) if call.runtime.passthrough else _headers(call)
    base = call.runtime.published.upstream_url(api)
    started = time.perf_counter()
    try:
        response = await call.runtime.upstream.request(
            base,
            call.method,
            base + call.upstream_path,
            params=call.upstream_query or call.query,
            headers=headers,
            body=call.body or None,
        )
    finally:
        call.upstream_ms = (time.perf_counter() - started) * 1000
    call.upstream_status = response.status
    call.upstream_headers = {"content-type": response.headers.get("content-type", "application/json")}
    call.upstream_body = response.body


def _headers(call: Call) -> dict[str, str]:
    api, consent, token = call.api, call.consent, call.token
    if api is None or consent is None or token is None:
        raise GatewayError("The request was not authorised.")
    headers = {name: call.headers[name] for name in _FORWARDED if name in call.headers}
    headers["x-fapi-interaction-id"] = call.interaction_id
    _propagate_trace(call, headers)
    headers[ASSERTION_HEADER] = mint_assertion(
        call.services.keys,
        issuer=call.services.settings.issuer_url,
        audience=call.runtime.published.audience(api),
        user_id=consent.user_id or token.subject,
        client_id=token.client_id,
        consent_id=consent.consent_id,
        accounts=call.account_ids,
        permissions=call.permissions,
        purposes=consent.purposes,
        interaction_id=call.interaction_id,
        now=call.services.clock(),
    )
    return headers


def _passthrough_headers(call: Call) -> dict[str, str]:
    """Benchmark only: forward the request's headers as a plain reverse proxy would."""
    headers = {k: v for k, v in call.headers.items() if k not in _HOP_BY_HOP}
    headers["x-fapi-interaction-id"] = call.interaction_id
    return headers


def _propagate_trace(call: Call, headers: dict[str, str]) -> None:
    """W3C trace context to the bank: the upstream span's when tracing, else the wallet's own."""
    if call.runtime.tracing.enabled:
        W3C.inject(headers)
    else:
        for name in ("traceparent", "tracestate"):
            if name in call.headers:
                headers[name] = call.headers[name]
