"""Remove from a UK OB v4 response what the consent does not cover (pure functions, no I/O).

``minimise(kind, body, grant)`` filters ``body`` in place and returns how many records are
left. ``kind`` names the rule (a policy operation's ``filter``; see ``KINDS``):

==================  ===================================  ============================================
kind                permission needed                    what else is removed
==================  ===================================  ============================================
accounts            ReadAccountsBasic                    without ReadAccountsDetail: ``Account``,
                                                         ``Servicer``, ``StatementFrequencyAndFormat``
balances            ReadBalances                         -
transactions        ReadTransactions{Basic,Detail,       records outside the booking window; Credit
                    Credits,Debits}                      or Debit records not granted; without
                                                         ReadTransactionsDetail the Detail-only fields
beneficiaries       ReadBeneficiariesBasic               without Detail: ``CreditorAccount``/``Agent``
direct-debits       ReadDirectDebits                     -
standing-orders     ReadStandingOrdersBasic              without Detail: ``CreditorAccount``/``Agent``
scheduled-payments  ReadScheduledPaymentsBasic           without Detail: ``CreditorAccount``/``Agent``
                                                         (each Basic keeps only the members of the
                                                         official *Basic schema, as accounts and
                                                         transactions do)
product / products  ReadProducts                         -
offers              ReadOffers                           -
parties             ReadParty                            (every holder of an account)
account-party       ReadParty                            (GET /accounts/{AccountId}/party)
party               ReadPartyPSU                         (GET /party: the user themself)
==================  ===================================  ============================================

Every record that carries an ``AccountId`` outside the grant's accounts is dropped, whatever the
kind. The records of every kind but the party ones name their account: in a call about one
account, a record that names none is about that account (``Grant.implied_account``); in a bulk
call it cannot be shown to belong to a selected account and is dropped, as is one whose
``AccountId`` is null or not a string. Given a set, ``minimise`` adds to it the account each record
it keeps names, where it checks that account anyway: the accounts whose data the answer carries.
Only the kind's own member of ``Data`` and the envelope's ``Data``, ``Links`` and ``Meta`` are
kept: anything else the bank adds (the schemas leave ``Data`` open) is not what the consent covers.
Without ReadPAN every card number is masked to its last four digits: any
account identification with SchemeName ``UK.OBIE.PAN`` and every ``CardInstrument``.

Transactions follow the UK OB rules for combining permissions: Basic or Detail sets how much of
each record is shown; Credits and Debits choose which records. When neither Credits nor Debits
was granted, Basic/Detail show both directions; Credits or Debits alone show that direction at
the Basic level. No transaction permission at all shows no transactions.

A result of 0 is worth a look by the caller: an empty ``Data.Balance`` is not a valid
OBReadBalance1 (the official schema wants at least one line), so a balances call that ends up
with nothing should be answered as not found rather than passed on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PAN_SCHEME = "UK.OBIE.PAN"
_PAN_SCHEME_BYTES = PAN_SCHEME.encode()

# The members of each record kind that a Basic permission shows (the official *Basic schemas).
_ACCOUNT_BASIC = frozenset(
    {
        "AccountId", "Status", "StatusUpdateDateTime", "Currency", "AccountCategory", "AccountTypeCode",
        "Description", "Nickname", "OpeningDate", "MaturityDate", "SwitchStatus",
    }
)  # fmt: skip
_TRANSACTION_BASIC = frozenset(
    {
        "AccountId", "TransactionId", "TransactionReference", "StatementReference", "CreditDebitIndicator",
        "Status", "TransactionMutability", "BookingDateTime", "ValueDateTime", "AddressLine", "Amount",
        "ChargeAmount", "CurrencyExchange", "BankTransactionCode", "ProprietaryBankTransactionCode",
        "ExtendedProprietaryBankTransactionCodes", "CardInstrument", "SupplementaryData", "CategoryPurposeCode",
        "PaymentPurposeCode",
    }
)  # fmt: skip
_BENEFICIARY_BASIC = frozenset({"AccountId", "BeneficiaryId", "BeneficiaryType", "Reference", "SupplementaryData"})
_STANDING_ORDER_BASIC = frozenset(
    {
        "AccountId", "StandingOrderId", "NextPaymentDateTime", "LastPaymentDateTime", "NumberOfPayments",
        "StandingOrderStatusCode", "FirstPaymentAmount", "NextPaymentAmount", "LastPaymentAmount",
        "FinalPaymentAmount", "SupplementaryData", "MandateRelatedInformation", "RemittanceInformation",
    }
)  # fmt: skip
_SCHEDULED_PAYMENT_BASIC = frozenset(
    {
        "AccountId", "ScheduledPaymentId", "ScheduledPaymentDateTime", "ScheduledType", "Reference",
        "DebtorReference", "InstructedAmount",
    }
)  # fmt: skip
_ENVELOPE = frozenset({"Data", "Links", "Meta"})
_PARTY_KINDS = frozenset({"parties", "account-party", "party"})  # their records name no account


@dataclass(frozen=True)
class Grant:
    """What one consent lets a call see."""

    permissions: frozenset[str]  # already expanded: Detail implies Basic
    account_ids: frozenset[str]  # the accounts the user selected
    window: tuple[datetime | None, datetime | None] = (None, None)  # booking window, inclusive
    # A call about one account (GET /accounts/{AccountId}/...): the account a record that names none is
    # about (the UK OB schemas let a beneficiary leave AccountId out). None for a bulk call.
    implied_account: str | None = None
    # False when the answer cannot hold a card number (``may_hold_pans``): its records are not walked.
    pans_possible: bool = True


Rule = Callable[[dict[str, Any], Grant], dict[str, Any] | None]


def _keep(fields: frozenset[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def keep(record: dict[str, Any]) -> dict[str, Any]:
        for name in [n for n in record if n not in fields]:
            del record[name]
        return record

    return keep


_account_basic = _keep(_ACCOUNT_BASIC)
_transaction_basic = _keep(_TRANSACTION_BASIC)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _in_window(record: dict[str, Any], window: tuple[datetime | None, datetime | None]) -> bool:
    start, end = window
    if start is None and end is None:
        return True
    try:
        booked = _aware(datetime.fromisoformat(str(record.get("BookingDateTime"))))
    except ValueError:
        return False  # a record the gateway cannot place in time is not shown
    return (start is None or booked >= _aware(start)) and (end is None or booked <= _aware(end))


def _account(record: dict[str, Any], grant: Grant) -> dict[str, Any] | None:
    if "ReadAccountsBasic" not in grant.permissions:
        return None
    return record if "ReadAccountsDetail" in grant.permissions else _account_basic(record)


def _transaction(record: dict[str, Any], grant: Grant) -> dict[str, Any] | None:
    granted = grant.permissions
    credits, debits = "ReadTransactionsCredits" in granted, "ReadTransactionsDebits" in granted
    if not (credits or debits or "ReadTransactionsBasic" in granted):
        return None
    direction = record.get("CreditDebitIndicator")
    if (credits or debits) and not ((credits and direction == "Credit") or (debits and direction == "Debit")):
        return None
    if not _in_window(record, grant.window):
        return None
    return record if "ReadTransactionsDetail" in granted else _transaction_basic(record)


def _needs(permission: str, detail: str | None = None, basic: frozenset[str] = frozenset()) -> Rule:
    """``permission`` shows the record; without ``detail`` (when there is one) only its ``basic`` members."""
    keep_basic = _keep(basic)

    def rule(record: dict[str, Any], grant: Grant) -> dict[str, Any] | None:
        if permission not in grant.permissions:
            return None
        return record if detail is None or detail in grant.permissions else keep_basic(record)

    return rule


# kind → (Data member, rule)
_RULES: dict[str, tuple[str, Rule]] = {
    "accounts": ("Account", _account),
    "balances": ("Balance", _needs("ReadBalances")),
    "transactions": ("Transaction", _transaction),
    "beneficiaries": (
        "Beneficiary",
        _needs("ReadBeneficiariesBasic", "ReadBeneficiariesDetail", _BENEFICIARY_BASIC),
    ),
    "direct-debits": ("DirectDebit", _needs("ReadDirectDebits")),
    "standing-orders": (
        "StandingOrder",
        _needs("ReadStandingOrdersBasic", "ReadStandingOrdersDetail", _STANDING_ORDER_BASIC),
    ),
    "scheduled-payments": (
        "ScheduledPayment",
        _needs("ReadScheduledPaymentsBasic", "ReadScheduledPaymentsDetail", _SCHEDULED_PAYMENT_BASIC),
    ),
    "product": ("Product", _needs("ReadProducts")),
    "products": ("Product", _needs("ReadProducts")),
    "offers": ("Offer", _needs("ReadOffers")),
    "parties": ("Party", _needs("ReadParty")),
    "account-party": ("Party", _needs("ReadParty")),
    "party": ("Party", _needs("ReadPartyPSU")),
}

KINDS: frozenset[str] = frozenset(_RULES)


def mask_pan(value: str) -> str:
    """Every character but the last four becomes ``*`` (``"4929000000006781"`` → ``"************6781"``)."""
    return "*" * max(0, len(value) - 4) + value[-4:]


def _identifications(node: Any) -> list[dict[str, Any]]:
    """Every object under ``node`` that identifies an account or a card.

    A walk with its own stack, not recursive generators: every record of a long transaction page
    is walked, and a generator per nested object cost twice as much."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("SchemeName") == PAN_SCHEME and isinstance(node.get("Identification"), str):
                found.append(node)
            for name, child in node.items():
                if (
                    name == "CardInstrument"
                    and isinstance(child, dict)
                    and isinstance(child.get("Identification"), str)
                ):
                    found.append(child)
                elif isinstance(child, dict | list):
                    stack.append(child)
        elif isinstance(node, list):
            stack.extend(child for child in node if isinstance(child, dict | list))
    return found


def may_hold_pans(body: bytes) -> bool:
    """Whether the JSON text ``body`` could hold a card number to mask: it names the PAN scheme or a
    ``CardInstrument``, or escapes a character (``"UK.OBIE.P\\u0041N"`` names the scheme too). Walking
    every record for card numbers is most of the filter's work on a long page; a body that cannot
    hold one is not walked."""
    return _PAN_SCHEME_BYTES in body or b"CardInstrument" in body or b"\\u" in body


def _mask_pans(record: dict[str, Any]) -> None:
    for identified in _identifications(record):
        identified["Identification"] = mask_pan(identified["Identification"])


def _filter(record: Any, rule: Rule, grant: Grant, owned: bool, read: set[str] | None) -> dict[str, Any] | None:
    """The record as the grant shows it, or None. ``owned``: records of this kind name their account.
    A record kept adds the account it names to ``read`` (when given)."""
    if not isinstance(record, dict):
        return None
    account_id = None
    if owned or "AccountId" in record:
        account_id = record.get("AccountId", grant.implied_account)
        if not isinstance(account_id, str) or account_id not in grant.account_ids:
            return None
    kept = rule(record, grant)
    if kept is None:
        return None
    if grant.pans_possible and "ReadPAN" not in grant.permissions:
        _mask_pans(kept)
    if read is not None and account_id is not None:
        read.add(account_id)
    return kept


def minimise(kind: str, body: dict[str, Any], grant: Grant, read: set[str] | None = None) -> int:
    """Filter ``body`` in place for ``kind``; the number of records left. Unknown kind: ``KeyError``.

    ``read``, when given, gets the ``AccountId`` of every record kept: the accounts whose data the
    answer carries (the access record of a bulk call names these)."""
    member, rule = _RULES[kind]
    owned = kind not in _PARTY_KINDS
    for name in [n for n in body if n not in _ENVELOPE]:
        del body[name]
    data = body.get("Data")
    if not isinstance(data, dict):
        body.pop("Data", None)
        return 0
    for name in [n for n in data if n != member]:
        del data[name]
    if member not in data:
        return 0
    value = data[member]
    if isinstance(value, list):
        data[member] = [kept for record in value if (kept := _filter(record, rule, grant, owned, read)) is not None]
        return len(data[member])
    kept = _filter(value, rule, grant, owned, read)
    if kept is None:
        del data[member]
        return 0
    return 1


def record_count(body: Any) -> int:
    """How many records a (filtered) UK OB body carries: the length of its Data list, or 1 for one object."""
    data = body.get("Data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return 0
    for value in data.values():
        if isinstance(value, list):
            return len(value)
        if isinstance(value, dict):
            return 1
    return 0
