"""Record the call for the user's access history: one ``AccessRecord``, queued off the request path.

A call refused before its access token was verified names no wallet and no user, so it has
no place in anyone's history (the access log and metrics count it); every other routed call,
served or refused, is recorded.

The accounts a record names are those the wallet read: for a served bulk call, the accounts whose
records the filtered answer carried (``Call.accounts_read``: none when it carried none); for a call
about one account, that account; for a refused or failed call, and for a bulk call whose answer
is not filtered record by record (an operation without a ``filter``), the accounts the call asked
about (every selected account, as the bank's assertion names them).

With ``audit_durable`` the record is written before the response is sent (see
``AuditWriter.write_now`` for the cost); otherwise it is queued.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from consent.model import AccessRecord
from gateway.errors import backend_unavailable
from gateway.pipeline.call import Call


async def audit(call: Call) -> None:
    token, consent = call.token, call.consent
    if call.api is None or call.operation is None or token is None:
        return
    record = AccessRecord(
        interaction_id=call.interaction_id,
        at=datetime.fromtimestamp(call.services.clock(), UTC),
        client_id=token.client_id,
        consent_id=token.consent_id,
        user_id=(consent.user_id if consent else None) or (token.subject if token.consent_id else None),
        api=call.api.name,
        operation_id=call.operation.operation_id,
        method=call.method,
        path=call.path,
        account_ids=_accounts_named(call),
        status=_status_sent(call),
        response_bytes=call.response_bytes,
        latency_ms=round((time.perf_counter() - call.started) * 1000, 3),
        record_count=call.record_count,
        attended=call.attended,
        complete=call.complete,
    )
    if call.services.settings.audit_durable:
        await call.runtime.audit.write_now(record)
    else:
        call.runtime.audit.submit(record)


def _accounts_named(call: Call) -> tuple[str, ...]:
    if call.accounts_read is not None and call.error is None:
        return call.accounts_read
    return call.account_ids


def _status_sent(call: Call) -> int:
    """The status the wallet was sent. ``gateway.errors.handle_error`` answers a call failed by an unreachable
    database or Redis with 503, where ``Call.fail`` noted the 500 of an unexpected error."""
    if call.error is not None and backend_unavailable(call.error):
        return 503
    return call.status or 500
