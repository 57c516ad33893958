"""Build the sandbox bank's data for one anchor date, as UK OB v4.0 records.

``build_bank(anchor)`` renders the seeded ledger (``sandbox.ledger``) and the fixed catalogue
(``sandbox.people``) into the records the API serves: accounts (OBAccount6), transactions
(OBTransaction6, newest first, with a running balance), balances (OBReadBalance1),
beneficiaries, direct debits, standing orders, products and parties. Same anchor date, same
data, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sandbox.ledger import MINOR_UNITS, Entry, Party, build_ledgers, party_of
from sandbox.people import (
    ACCOUNTS,
    BANK_BIC,
    BANK_NAME,
    FRIENDS,
    LANDLORD_ACCOUNTS,
    PAN_SCHEME,
    PEOPLE,
    SORT_CODE_SCHEME,
    AccountSpec,
    Person,
    main_current,
    person,
)

Record = dict[str, Any]

_TYPE_CODES = {"current": "CACC", "savings": "SVGS", "card": "CARD", "travel": "CACC"}
_DESCRIPTIONS = {
    "current": "Personal current account",
    "savings": "Easy access savings",
    "card": "Credit card",
    "travel": "Multi-currency travel account",
}
_PRODUCTS = {
    "current": ("PersonalCurrentAccount", "Sandbox Everyday Account", "SBX-PCA-01", ""),
    "savings": ("Other", "Sandbox Easy Saver", "SBX-SAV-02", "Easy access savings with monthly interest"),
    "card": ("Other", "Sandbox Credit Card", "SBX-CC-03", "Credit card with a monthly direct repayment"),
    "travel": ("Other", "Sandbox Travel Wallet", "SBX-TRV-04", "Spend abroad in EUR, USD and JPY"),
}


@dataclass(frozen=True, slots=True)
class AccountData:
    """Everything the sandbox serves about one account."""

    spec: AccountSpec
    account: Record
    transactions: tuple[Record, ...]  # newest first
    booked: tuple[datetime, ...]  # BookingDateTime of each transaction, same order
    balances: tuple[Record, ...]
    beneficiaries: tuple[Record, ...]
    direct_debits: tuple[Record, ...]
    standing_orders: tuple[Record, ...]
    product: Record
    parties: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class Bank:
    anchor: date
    accounts: Mapping[str, AccountData]
    parties: Mapping[str, Record]  # user id → the user's own party record

    def account_ids_of(self, user_id: str) -> tuple[str, ...]:
        return tuple(a for a, data in self.accounts.items() if user_id in data.spec.owners)


def money(minor: int, currency: str = "GBP") -> Record:
    digits = MINOR_UNITS[currency]
    text = str(abs(minor)) if digits == 0 else f"{abs(minor) / 10**digits:.{digits}f}"
    return {"Amount": text, "Currency": currency}


def _signed(minor: int) -> Record:
    return {"CreditDebitIndicator": "Credit" if minor >= 0 else "Debit", "Amount": money(minor)}


def iban(sort_code: str, number: str) -> str:
    """A UK IBAN with valid ISO 13616 check digits for the sandbox's bank code."""
    bban = "SBXB" + sort_code + number
    digits = "".join(str(int(c, 36)) for c in bban + "GB00")
    return f"GB{98 - int(digits) % 97:02d}{bban}"


def _holders(spec: AccountSpec) -> str:
    return " & ".join(person(owner).name for owner in spec.owners)


def _account(spec: AccountSpec) -> Record:
    opened = f"{spec.opened}T09:00:00+00:00"
    if spec.kind == "card":
        identifications = [{"SchemeName": PAN_SCHEME, "Identification": spec.pan, "Name": _holders(spec)}]
    else:
        identifications = [
            {"SchemeName": SORT_CODE_SCHEME, "Identification": spec.sort_code_number, "Name": _holders(spec)},
            {"SchemeName": "UK.OBIE.IBAN", "Identification": iban(spec.sort_code, spec.number), "Name": _holders(spec)},
        ]
    return {
        "AccountId": spec.account_id,
        "Status": "Enabled",
        "StatusUpdateDateTime": opened,
        "Currency": "GBP",
        "AccountCategory": "Personal",
        "AccountTypeCode": _TYPE_CODES[spec.kind],
        "Description": _DESCRIPTIONS[spec.kind],
        "Nickname": spec.nickname,
        "OpeningDate": opened,
        "SwitchStatus": "UK.CASS.NotSwitched",
        "Account": identifications,
        "Servicer": {"SchemeName": "UK.OBIE.BICFI", "Identification": BANK_BIC, "Name": BANK_NAME},
    }


_SANDBOX_IDS = {party_of(a)[1] for a in ACCOUNTS}


def _party_account(party: Party) -> Record:
    scheme, identification, name = party
    return {"SchemeName": scheme, "Identification": identification, "Name": name}


def _agent(party: Party) -> Record | None:
    if party[1] in _SANDBOX_IDS:
        return {"SchemeName": "UK.OBIE.BICFI", "Identification": BANK_BIC, "Name": BANK_NAME}
    return None


def _transaction(spec: AccountSpec, number: int, entry: Entry, balance: int) -> Record:
    stamp = entry.at.isoformat()
    record: Record = {
        "AccountId": spec.account_id,
        "TransactionId": f"{spec.account_id}-{number:05d}",
        "TransactionReference": f"SBX{entry.at:%y%m%d}{number:05d}",
        "CreditDebitIndicator": "Credit" if entry.credit else "Debit",
        "Status": "BOOK",
        "TransactionMutability": "Immutable",
        "BookingDateTime": stamp,
        "ValueDateTime": stamp,
        "TransactionInformation": entry.info,
        "Amount": money(entry.minor, entry.currency),
        "BankTransactionCode": {"Code": entry.code[0], "SubCode": entry.code[1]},
        "ProprietaryBankTransactionCode": {"Code": entry.proprietary, "Issuer": "SBXB"},
        "Balance": {**_signed(balance), "Type": "ITBD"},
    }
    if entry.rate is not None and entry.gbp_minor is not None:
        record["CurrencyExchange"] = {
            "SourceCurrency": entry.currency,
            "TargetCurrency": "GBP",
            "UnitCurrency": entry.currency,
            "ExchangeRate": entry.rate,
            "InstructedAmount": money(entry.gbp_minor),
        }
    if entry.merchant:
        record["MerchantDetails"] = {"MerchantName": entry.merchant[0], "MerchantCategoryCode": entry.merchant[1]}
    for role, party in (("Creditor", entry.creditor), ("Debtor", entry.debtor)):
        if party:
            record[f"{role}Account"] = _party_account(party)
            agent = _agent(party)
            if agent:
                record[f"{role}Agent"] = agent
    if entry.card:
        record["CardInstrument"] = {
            "CardSchemeName": entry.card[0],
            "AuthorisationType": "Contactless" if entry.minor < 10_000 else "PIN",
            "Name": person(spec.owners[0]).name,
            "Identification": entry.card[1],
        }
    return record


def _opening_balance(spec: AccountSpec, entries: Sequence[Entry]) -> int:
    """Start high enough that the account stays above -£50 (with an overdraft) or £20 (without)."""
    if spec.kind == "card":
        return 0
    lowest = running = 0
    for entry in entries:
        running += entry.balance_effect
        lowest = min(lowest, running)
    base = {"current": 150_000, "savings": 250_000, "travel": 5_000}[spec.kind]
    floor = -5_000 if spec.overdraft_pence else 2_000
    return max(base, floor - lowest)


def _transactions(spec: AccountSpec, entries: Sequence[Entry]) -> tuple[list[Record], int]:
    balance = _opening_balance(spec, entries)
    records = []
    for number, entry in enumerate(entries, start=1):
        balance += entry.balance_effect
        records.append(_transaction(spec, number, entry, balance))
    records.reverse()
    return records, balance


def _balances(spec: AccountSpec, booked: int, at: datetime) -> tuple[Record, ...]:
    stamp = at.isoformat()
    lines: list[Record] = []
    if spec.kind == "card":
        limit = {"Included": True, "Type": "Credit", "Amount": money(spec.credit_limit_pence)}
        available = spec.credit_limit_pence + booked
        lines.append({"Type": "ITAV", **_signed(available), "DateTime": stamp, "CreditLine": [limit]})
        lines.append({"Type": "ITBD", **_signed(booked), "DateTime": stamp, "CreditLine": [limit]})
    elif spec.overdraft_pence:
        limit = {"Included": True, "Type": "Pre-Agreed", "Amount": money(spec.overdraft_pence)}
        lines.append(
            {"Type": "ITAV", **_signed(booked + spec.overdraft_pence), "DateTime": stamp, "CreditLine": [limit]}
        )
        lines.append({"Type": "ITBD", **_signed(booked), "DateTime": stamp})
    else:
        lines.append({"Type": "ITAV", **_signed(booked), "DateTime": stamp})
        lines.append({"Type": "ITBD", **_signed(booked), "DateTime": stamp})
    return tuple({"AccountId": spec.account_id, **line} for line in lines)


def _beneficiaries(spec: AccountSpec) -> tuple[Record, ...]:
    if spec.kind != "current":
        return ()
    payees: list[tuple[Party, str, str]] = []
    for owner in spec.owners:
        who = person(owner)
        if spec.owners == (owner,):
            for friend in FRIENDS[owner]:
                payees.append((party_of(main_current(friend)), who.name.split()[0].upper(), "Trusted"))
            if who.rent_pence:
                sort_code, number = LANDLORD_ACCOUNTS[who.landlord]
                payees.append(
                    ((SORT_CODE_SCHEME, sort_code + number, who.landlord), f"RENT {owner.upper()}", "Trusted")
                )
    payees.append(((SORT_CODE_SCHEME, "20000055544433", "HMRC Self Assessment"), "SA UTR 1234567890", "Ordinary"))
    return tuple(
        {
            "AccountId": spec.account_id,
            "BeneficiaryId": f"ben-{spec.account_id.removeprefix('acc-')}-{n}",
            "BeneficiaryType": kind,
            "Reference": reference,
            "CreditorAccount": _party_account(party),
        }
        for n, (party, reference, kind) in enumerate(payees, start=1)
    )


def _frequency(day: int) -> Record:
    return {"Type": "MNTH", "CountPerPeriod": 1, "PointInTime": f"{day:02d}"}


def _last_by_info(entries: Sequence[Entry], code: str) -> dict[str, Entry]:
    last: dict[str, Entry] = {}
    for entry in entries:
        if entry.proprietary == code and not entry.credit:
            last[entry.info] = entry
    return last


def _direct_debits(spec: AccountSpec, entries: Sequence[Entry]) -> tuple[Record, ...]:
    records = []
    for n, entry in enumerate(_last_by_info(entries, "DD").values(), start=1):
        payee = entry.creditor[2] if entry.creditor else entry.info
        records.append(
            {
                "AccountId": spec.account_id,
                "DirectDebitId": f"dd-{spec.account_id.removeprefix('acc-')}-{n}",
                "DirectDebitStatusCode": "ACTV",
                "MandateRelatedInformation": {
                    "MandateIdentification": entry.info.removeprefix(payee.upper()).strip()[:35],
                    "Classification": "VARI" if "ENERGY" in entry.info else "FIXE",
                    "Frequency": _frequency(entry.at.day),
                },
                "Name": payee[:70],
                "PreviousPaymentDateTime": entry.at.isoformat(),
                "PreviousPaymentAmount": money(entry.minor),
            }
        )
    return tuple(records)


def _next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month)


def _standing_orders(spec: AccountSpec, entries: Sequence[Entry]) -> tuple[Record, ...]:
    records = []
    for n, entry in enumerate(_last_by_info(entries, "SOO").values(), start=1):
        record: Record = {
            "AccountId": spec.account_id,
            "StandingOrderId": f"so-{spec.account_id.removeprefix('acc-')}-{n}",
            "StandingOrderStatusCode": "ACTV",
            "NextPaymentDateTime": _next_month(entry.at).isoformat(),
            "LastPaymentDateTime": entry.at.isoformat(),
            "NextPaymentAmount": money(entry.minor),
            "LastPaymentAmount": money(entry.minor),
            "MandateRelatedInformation": {"Frequency": _frequency(entry.at.day)},
            "RemittanceInformation": {"Unstructured": [entry.info[:140]]},
        }
        if entry.creditor:
            record["CreditorAccount"] = _party_account(entry.creditor)
        records.append(record)
    return tuple(records)


def _product(spec: AccountSpec) -> Record:
    product_type, name, product_id, description = _PRODUCTS[spec.kind]
    record: Record = {"AccountId": spec.account_id, "ProductId": product_id, "ProductName": name}
    record["ProductType"] = product_type
    if product_type == "Other":
        record["OtherProductType"] = {"Name": name, "Description": description}
    return record


def _party(who: Person, number: int) -> Record:
    return {
        "PartyId": f"party-{who.user_id}",
        "PartyNumber": f"{number:08d}",
        "PartyType": "Sole",
        "Name": who.name,
        "FullLegalName": who.full_legal_name,
        "LegalStructure": "UK.OBIE.Individual",
        "BeneficialOwnership": True,
        "EmailAddress": who.email,
        "Mobile": who.mobile,
        "Address": [
            {
                "AddressType": "HOME",
                "BuildingNumber": who.building,
                "StreetName": who.street,
                "TownName": who.town,
                "PostCode": who.post_code,
                "Country": "GB",
            }
        ],
    }


def _account_parties(spec: AccountSpec, parties: Mapping[str, Record]) -> tuple[Record, ...]:
    joint = len(spec.owners) > 1
    return tuple(
        parties[owner]
        | {
            "PartyType": "Joint" if joint else "Sole",
            "AccountRole": "UK.OBIE.Principal" if index == 0 else "UK.OBIE.SecondaryOwner",
        }
        for index, owner in enumerate(spec.owners)
    )


def build_bank(anchor: date) -> Bank:
    """The whole bank as it stands at the end of ``anchor`` (UTC)."""
    ledgers = build_ledgers(anchor)
    parties = {who.user_id: _party(who, 10_000_001 + n) for n, who in enumerate(PEOPLE)}
    accounts: dict[str, AccountData] = {}
    for spec in ACCOUNTS:
        entries = ledgers[spec.account_id]
        transactions, balance = _transactions(spec, entries)
        as_of = entries[-1].at if entries else datetime.combine(anchor, time(), tzinfo=UTC)
        accounts[spec.account_id] = AccountData(
            spec=spec,
            account=_account(spec),
            transactions=tuple(transactions),
            booked=tuple(datetime.fromisoformat(t["BookingDateTime"]) for t in transactions),
            balances=_balances(spec, balance, as_of),
            beneficiaries=_beneficiaries(spec),
            direct_debits=_direct_debits(spec, entries),
            standing_orders=_standing_orders(spec, entries),
            product=_product(spec),
            parties=_account_parties(spec, parties),
        )
    return Bank(anchor, accounts, parties)


def today_utc() -> date:
    """The default anchor date: today in UTC."""
    return datetime.now(UTC).date()
