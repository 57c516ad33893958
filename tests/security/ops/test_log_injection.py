"""A request cannot write a log line of its own into the gateway's text log.

A path no route matches is logged as sent (decoded), so ``%0d%0a`` in it reaches the access line
as a real line break; an exception message quoting a request value reaches the traceback. With
``log_format=text`` every record must stay one line (its traceback indented under it).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.integration.ops.conftest import GatewayFactory, log_text

pytestmark = pytest.mark.integration

FORGED = "2026-01-01T00:00:00.000+00:00 info    walletgate.access: POST /admin/apis/forged 201"
RECORD_START = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00 ")


def _status(url: str, *, method: str = "GET", body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - loopback test server
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_line_break_in_a_request_cannot_forge_a_text_log_line(gateway_process: GatewayFactory) -> None:
    server = gateway_process(log_format="text")
    forged = urllib.parse.quote("\r\n" + FORGED, safe="")
    assert _status(f"{server.url}/no-such-page{forged}") == 404
    assert _status(f"{server.url}/_ops_test/echo/x", method="POST", body=("\n" + FORGED).encode()) == 500
    server.stop()

    lines = log_text(server).splitlines()
    assert not [line for line in lines if line.startswith(FORGED)]
    records = [line for line in lines if RECORD_START.match(line)]
    assert [line for line in records if FORGED in line and "walletgate.access: GET /no-such-page" in line]
    assert all(RECORD_START.match(line) or line.startswith("  ") for line in lines if line.strip()), lines
