"""Remove what the consent does not cover from the bank's answer, then serialise what the wallet gets.

The rules per kind of response (accounts, balances, transactions, ...) live in
``gateway.filtering``; this step hands them the consent's expanded permissions, its selected
accounts and the clipped booking window.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.pipeline.call import Call


async def minimise(call: Call) -> None:
    op, consent = call.operation, call.consent
    status = call.upstream_status or 502
    if op is None or consent is None or call.response_json is None:
        call.response_body = call.upstream_body
        return
    body: Any = call.response_json
    if op.filter is not None and 200 <= status < 300:
        from gateway import filtering  # the sandbox engineer's module; imported late until it lands

        grant = filtering.Grant(
            permissions=call.permissions,
            account_ids=frozenset(consent.account_ids),
            window_from=call.window[0],
            window_to=call.window[1],
        )
        body = filtering.minimise(op.filter, body, grant)
        call.record_count = filtering.record_count(body)
    call.response_json = body
    call.response_body = orjson.dumps(body)
