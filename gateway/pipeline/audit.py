"""Record the call for the user's access history: one ``AccessRecord``, queued off the request path."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from consent.model import AccessRecord
from gateway.pipeline.call import Call


async def audit(call: Call) -> None:
    if call.api is None or call.operation is None:
        return  # nothing was routed: there is no operation to show anyone
    token, consent = call.token, call.consent
    call.runtime.audit.submit(
        AccessRecord(
            interaction_id=call.interaction_id,
            at=datetime.fromtimestamp(call.services.clock(), UTC),
            client_id=token.client_id if token else "",
            consent_id=token.consent_id if token else None,
            user_id=(consent.user_id if consent else None) or (token.subject if token and token.consent_id else None),
            api=call.api.name,
            operation_id=call.operation.operation_id,
            method=call.method,
            path=call.path,
            account_ids=call.account_ids,
            status=call.status or 500,
            response_bytes=len(call.response_body or b""),
            latency_ms=round((time.perf_counter() - call.started) * 1000, 3),
            record_count=call.record_count,
        )
    )
