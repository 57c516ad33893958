"""The x-fapi-interaction-id: a wallet's own id is kept only when it is a UUID in its one written form."""

from __future__ import annotations

import uuid

import pytest
from starlette.types import Scope

from gateway.interaction import take_interaction_id

GIVEN = "93bac548-d2de-4546-b106-880a5018460d"


def _scope(*values: bytes) -> Scope:
    return {"type": "http", "headers": [(b"x-fapi-interaction-id", value) for value in values]}


def test_a_wallets_uuid_is_kept() -> None:
    assert take_interaction_id(_scope(GIVEN.encode())) == GIVEN


def test_a_wallets_uuid_in_upper_case_is_kept_as_sent() -> None:
    """RFC 9562 §4: UUIDs are read in either case; FAPI asks for the value to be echoed as received."""
    assert take_interaction_id(_scope(GIVEN.upper().encode())) == GIVEN.upper()


def test_the_first_of_several_copies_is_the_one_kept() -> None:
    other = str(uuid.uuid4())
    assert take_interaction_id(_scope(GIVEN.encode(), other.encode())) == GIVEN


@pytest.mark.parametrize(
    "value",
    [
        "{{93bac548d2de4546b106880a5018460d}}",  # 36 characters; uuid.UUID strips the braces
        "urn:93bac548d2de4546b106880a5018460d",  # 36 characters; uuid.UUID strips the urn: prefix
        "----93bac548d2de4546b106880a5018460d",  # 36 characters; uuid.UUID drops every hyphen
        "93bac548d2de4546b106880a5018460d",  # the hex digits alone
        "93bac548-d2de-4546-b106-880a5018460d\n",
        "93bac548-d2de-4546-b106-880a5018460\u00e9",
    ],
)
def test_anything_but_the_hyphenated_uuid_form_is_replaced_by_a_new_id(value: str) -> None:
    kept = take_interaction_id(_scope(value.encode()))
    assert kept != value
    assert str(uuid.UUID(kept)) == kept


def test_a_missing_header_gets_a_new_uuid() -> None:
    kept = take_interaction_id(_scope())
    assert str(uuid.UUID(kept)) == kept
