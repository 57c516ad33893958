"""Match the method and path against the published APIs: set ``api``, ``operation``, ``path_params``.

The path the bank is sent (``upstream_path``) is rebuilt from the segments that were matched, each
percent-encoded whole: the bank reads exactly the operation and parameter values the gateway routed
and authorised. A ``.`` or ``..`` segment (which the upstream URL would resolve to another path, say
another operation of the bank's) is refused as a path no operation serves.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from gateway.errors import MethodNotAllowedError, ResourceNotFoundError
from gateway.pipeline.call import Call

_DOT_SEGMENTS = frozenset({".", ".."})
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote(safe="") leaves as it is


async def route(call: Call) -> None:
    found = call.runtime.published.find(call.path)
    if found is None:
        raise ResourceNotFoundError(f"No published API serves {call.path}.", path=call.path)
    api, rest = found
    segments = rest.strip("/").split("/") if rest.strip("/") else []
    match = None if _DOT_SEGMENTS.intersection(segments) else api.router.match(rest)
    if match is None:
        raise ResourceNotFoundError(f"{api.name} has no operation at {call.path}.", path=call.path)
    spec = match.methods.get(call.method)
    if spec is None and call.method == "HEAD":
        spec = match.methods.get("GET")
    if spec is None:
        allowed = ", ".join(sorted(match.methods))
        raise MethodNotAllowedError(
            f"{call.method} is not allowed on {call.path}; allowed: {allowed}.", headers={"Allow": allowed}
        )
    call.api = api
    call.operation = api.operations[spec.operation_id]
    call.path_params = match.params
    call.upstream_path = "/" + "/".join(s if _UNRESERVED.fullmatch(s) else quote(s, safe="") for s in segments)
