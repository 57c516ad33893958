"""Onward recipients (``kind:name``) as the authorization screen and the dashboard name them."""

from __future__ import annotations

from datetime import UTC, datetime

from consent.model import Consent, ConsentStatus
from gateway.portal.catalogue import Text
from gateway.portal.consent_view import recipients

AT = datetime(2026, 1, 1, tzinfo=UTC)


def consent(*names: str) -> Consent:
    return Consent(
        consent_id="c-1",
        client_id="wallet",
        status=ConsentStatus.AWAITING_AUTHORISATION,
        permissions=frozenset({"ReadBalances"}),
        purposes=("lending",),
        created_at=AT,
        updated_at=AT,
        status_updated_at=AT,
        recipients=names,
    )


def test_a_recipient_reads_as_its_name_and_what_kind_of_body_it_is() -> None:
    assert recipients(consent("credit_bureau:Experian", "lender:Acme Loans"), Text("en")) == [
        "Experian (a credit reference agency)",
        "Acme Loans (a lender)",
    ]


def test_a_recipient_kind_the_catalogue_does_not_know_reads_as_words() -> None:
    assert recipients(consent("debt_adviser:StepChange"), Text("en")) == ["StepChange (debt adviser)"]


def test_a_consent_without_recipients_names_none() -> None:
    assert recipients(consent(), Text("zh")) == []
