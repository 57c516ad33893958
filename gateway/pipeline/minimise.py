"""Remove what the consent does not cover from the bank's answer, then serialise what the wallet gets.

The rules per kind of response (accounts, balances, transactions, ...) live in
``gateway.filtering``; this step hands them the consent's expanded permissions, the accounts the
call is about (the one in the path, or every selected account for a bulk call: the accounts the
bank's assertion names) and the clipped booking window. For a bulk call it also notes, as the
filter checks each record's ``AccountId``, the accounts whose records the wallet receives
(``Call.accounts_read``, none for an empty answer): those are what its access record names, not
every selected account. Error answers from
the bank pass unfiltered (they carry no account data); a successful body that is not a JSON
object, including one that is not JSON at all (which ``report`` validation lets by), is refused
rather than passed. The body's ``Links`` are then pointed at the gateway (``gateway.links``)
before it is serialised.
"""

from __future__ import annotations

import orjson

from gateway.errors import UpstreamError
from gateway.filtering import Grant, may_hold_pans
from gateway.filtering import minimise as filter_body
from gateway.links import rewrite_links
from gateway.pipeline.call import Call


async def minimise(call: Call) -> None:
    op, consent = call.operation, call.consent
    status = call.upstream_status or 502
    if op is None or consent is None:
        call.response_body = call.upstream_body
        return
    kind = op.filter if 200 <= status < 300 else None  # error answers pass unfiltered
    bulk = op.account_parameter is None
    if kind is not None and bulk:
        call.accounts_read = ()  # until records say otherwise: an empty answer carries no account's data
    if kind is not None and call.upstream_body:
        body = call.response_json
        if not isinstance(body, dict):
            raise UpstreamError(f"The bank's response to {op.operation_id} is not a JSON object.")
        accounts, implied = frozenset(consent.account_ids), None
        if op.account_parameter is not None:  # a call about one account shows that account's records only
            implied = call.path_params.get(op.account_parameter)
            accounts &= {implied}
        grant = Grant(
            permissions=call.permissions,
            account_ids=accounts,
            window=call.window,
            implied_account=implied,
            pans_possible=may_hold_pans(call.upstream_body),
        )
        read: set[str] | None = set() if bulk else None
        call.record_count = filter_body(kind, body, grant, read)
        if read:
            call.accounts_read = tuple(a for a in call.account_ids if a in read)  # in the consent's order
    elif call.response_json is None:
        call.response_body = call.upstream_body
        return
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
