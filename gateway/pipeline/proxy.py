"""Send the call to the bank: pooled client, the clipped query, and the signed gateway assertion.

The bank's answer is read whole, to be validated and filtered, unless it is a body the gateway has
nothing to read in (a documented non-JSON answer of an operation without a filter, e.g. a statement
file): that one is relayed to the wallet as it arrives, so a large file is neither held in memory
nor delayed until its last byte.

The bank learns who is asking (wallet, user, consent, accounts, permissions, purposes) from
the ``x-walletgate-assertion`` header, which it verifies against the gateway's JWKS. Only the
headers the bank needs are forwarded: the FAPI ones, ``accept`` and ``content-type``, and those the
operation's document declares (``x-idempotency-key``, ``x-jws-signature`` of a payments API; the
validate-request step has checked them). The wallet's access token and DPoP proof, its cookies,
hop-by-hop and forwarding headers, and the client-certificate header never leave the gateway,
whatever a document declares.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Mapping

from yarl import URL

from gateway.assertion import ASSERTION_HEADER, mint_assertion
from gateway.errors import GatewayError
from gateway.pipeline.call import Call
from gateway.telemetry import W3C

_HOP_BY_HOP = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)
_FORWARDED = ("x-fapi-customer-ip-address", "x-fapi-auth-date", "x-customer-user-agent", "accept", "content-type")
# W3C Trace Context §3.2: version 00's four fields (an all-zero trace or parent id is invalid), and §3.3's cap.
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
_MAX_TRACESTATE = 512
_NEVER_FORWARDED = _HOP_BY_HOP | {
    "authorization", "dpop", "cookie", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
    "x-forwarded-port", "x-real-ip", "x-fapi-interaction-id", ASSERTION_HEADER,
}  # fmt: skip


async def proxy(call: Call) -> None:
    api = call.api
    if api is None:
        raise GatewayError("The request was not routed.")
    if call.runtime.passthrough:
        headers = _passthrough_headers(call)
    else:
        headers = call.forward_headers if call.forward_headers is not None else forward_headers(call)
        _propagate_trace(call, headers)
    base = call.runtime.published.upstream_url(api)
    started = time.perf_counter()
    try:
        response = await call.runtime.upstream.request(
            base,
            call.method,
            URL(str(URL(base)) + call.upstream_path, encoded=True),  # sent as routed: ``route`` encoded it
            params=call.upstream_query or call.query,
            headers=headers,
            body=call.body or None,
            stream=lambda status, answer: _relayable(call, status, answer),
        )
    finally:
        call.upstream_ms = (time.perf_counter() - started) * 1000
    call.upstream_status = response.status
    call.upstream_headers = {"content-type": response.headers.get("content-type", "application/json")}
    call.upstream_body = response.body
    call.upstream_stream = response.stream
    if response.stream is not None:
        for name in ("content-length", "content-disposition", "content-encoding"):
            if name in response.headers:
                call.upstream_headers[name] = response.headers[name]


def _relayable(call: Call, status: int, headers: Mapping[str, str]) -> bool:
    """Relay the body as it arrives, instead of reading it whole, when the gateway has nothing to read in
    it: not JSON, documented for this answer, and the operation filters nothing (a body the consent
    would have to be applied to is never passed on unread)."""
    operation = call.operation
    media = headers.get("content-type", "")
    return (
        operation is not None
        and operation.filter is None
        and not _json(media)
        and operation.spec.documents_media(status, media)
    )


def _json(media: str) -> bool:
    kind = media.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def prepare_upstream(call: Call) -> None:
    """Build what the bank is sent, signed assertion included, ahead of ``proxy``: it waits for nothing,
    so it runs while the limiter's answer travels (``gateway.pipeline.handle``)."""
    call.forward_headers = forward_headers(call)


def forward_headers(call: Call) -> dict[str, str]:
    """The request's headers the bank needs, the interaction id and the signed gateway assertion."""
    api, consent, token = call.api, call.consent, call.token
    if api is None or consent is None or token is None:
        raise GatewayError("The request was not authorised.")
    operation = call.operation
    declared = operation.spec.header_names if operation is not None else frozenset()
    names = _forwarded_names(declared, call.services.settings.client_cert_header.lower())
    headers = {name: call.headers[name] for name in names if name in call.headers}
    if call.body and "content-type" not in headers and operation is not None and operation.spec.body is not None:
        headers["content-type"] = "application/json"  # the body was read as JSON (``validate_request``)
    headers["x-fapi-interaction-id"] = call.interaction_id
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


@functools.lru_cache(maxsize=256)
def _forwarded_names(declared: frozenset[str], client_cert_header: str) -> tuple[str, ...]:
    """The request headers an operation's call sends on (computed once per operation)."""
    extra = sorted(declared - _NEVER_FORWARDED - {client_cert_header} - set(_FORWARDED))
    return (*_FORWARDED, *extra)


def _passthrough_headers(call: Call) -> dict[str, str]:
    """Benchmark only: forward the request's headers as a plain reverse proxy would."""
    headers = {k: v for k, v in call.headers.items() if k not in _HOP_BY_HOP}
    headers["x-fapi-interaction-id"] = call.interaction_id
    return headers


def _propagate_trace(call: Call, headers: dict[str, str]) -> None:
    """W3C trace context to the bank: the upstream span's when tracing, else the wallet's own when it
    is well formed (a malformed one, or a ``tracestate`` without it, is not passed on)."""
    if call.runtime.tracing.enabled:
        W3C.inject(headers)
        return
    parent = call.headers.get("traceparent")
    if parent is None or _TRACEPARENT.fullmatch(parent) is None:
        return
    headers["traceparent"] = parent
    state = call.headers.get("tracestate")
    if state is not None and len(state) <= _MAX_TRACESTATE and state.isascii() and state.isprintable():
        headers["tracestate"] = state
