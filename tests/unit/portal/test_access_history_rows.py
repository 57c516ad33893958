"""One access record as the dashboard's history shows it: what was read, and whether it was shared."""

from __future__ import annotations

from dataclasses import replace

from gateway.portal.catalogue import Text
from gateway.portal.consent_view import access
from tests.support.records import access_record

RECORD = access_record(operation_id="GetStatementFile", path="/statements/v1/accounts/acc-1/statement-file")


def test_a_response_that_reached_the_wallet_whole_reads_as_shared() -> None:
    assert access(RECORD, Text("en"))["result"] == "Shared"


def test_a_response_cut_off_on_the_way_reads_as_shared_in_part() -> None:
    assert access(replace(RECORD, complete=False), Text("en"))["result"] == "Shared in part: the transfer was cut off"


def test_a_refused_call_reads_as_refused_with_its_status_whether_or_not_complete() -> None:
    assert access(replace(RECORD, status=403, complete=False), Text("en"))["result"] == "Refused (403)"


def test_the_operation_reads_in_words() -> None:
    assert access(RECORD, Text("en"))["what"] == "Get statement file"
