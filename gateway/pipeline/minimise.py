"""Remove what the consent does not cover from the bank's answer, then serialise what the wallet gets.

The rules per kind of response (accounts, balances, transactions, ...) live in
``gateway.filtering``; this step hands them the consent's expanded permissions, its selected
accounts and the clipped booking window. Error answers from the bank pass unfiltered (they
carry no account data); a body that is not a JSON object is refused rather than passed. The
body's ``Links`` are then pointed at the gateway (``gateway.links``) before it is serialised.
"""

from __future__ import annotations

import orjson

from gateway.errors import UpstreamError
from gateway.filtering import Grant
from gateway.filtering import minimise as filter_body
from gateway.links import rewrite_links
from gateway.pipeline.call import Call


async def minimise(call: Call) -> None:
    op, consent = call.operation, call.consent
    status = call.upstream_status or 502
    if op is None or consent is None or call.response_json is None:
        call.response_body = call.upstream_body
        return
    if op.filter is not None and 200 <= status < 300:
        body = call.response_json
        if not isinstance(body, dict):
            raise UpstreamError(f"The bank's response to {op.operation_id} is not a JSON object.")
        grant = Grant(permissions=call.permissions, account_ids=frozenset(consent.account_ids), window=call.window)
        call.record_count = filter_body(op.filter, body, grant)
    _point_links_at_gateway(call)
    call.response_body = orjson.dumps(call.response_json)


def _point_links_at_gateway(call: Call) -> None:
    api = call.api
    if api is None:
        return
    upstream_base = call.runtime.published.upstream_url(api)
    public_base = call.services.settings.issuer_url + api.base_path
    rewrite_links(
        call.response_json,
        upstream_bases=(upstream_base, *api.link_bases),
        public_base=public_base,
        self_url=call.url,
    )
