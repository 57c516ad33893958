"""The row the audit's PostgreSQL ``COPY`` writes: the insert's values, in column order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consent.model import AccessRecord
from consent.sql_rows import ACCESS_COPY_COLUMNS, access_copy_row, access_row
from consent.tables import access_records
from tests.support.records import access_record

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _record(at: datetime = AT) -> AccessRecord:
    return access_record(at=at, account_ids=("a-1", "a-2"), record_count=2, attended=True)


def test_the_copy_columns_are_every_column_but_the_generated_id() -> None:
    assert set(ACCESS_COPY_COLUMNS) == {c.name for c in access_records.columns} - {"id"}


def test_the_copy_row_holds_the_insert_values_in_column_order_with_json_as_text() -> None:
    row = dict(zip(ACCESS_COPY_COLUMNS, access_copy_row(_record()), strict=True))
    assert row.pop("account_ids") == '["a-1","a-2"]'
    expected = access_row(_record())
    expected.pop("account_ids")
    assert row == expected


def test_a_naive_time_is_refused_as_the_insert_refuses_it() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        access_copy_row(_record(at=datetime(2026, 12, 4, 12, 0)))  # noqa: DTZ001 - the case under test
