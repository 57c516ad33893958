"""Draw two years of realistic, seeded bookings for every sandbox account.

The same anchor date always gives the same entries: each person has their own
``random.Random`` seeded with their user id and the anchor date. Money moving between two
sandbox accounts (savings transfers, card repayments, travel top-ups, payments to friends,
household contributions) is booked on both sides.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sandbox.people import (
    ACCOUNTS,
    EMPLOYER_ACCOUNTS,
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

HISTORY_DAYS = 730
MINOR_UNITS = {"GBP": 2, "EUR": 2, "USD": 2, "JPY": 0}
# Units of GBP per unit of the foreign currency, drifting a little from trip to trip.
_GBP_RATES = {"EUR": 0.86, "USD": 0.79, "JPY": 0.0053}

Party = tuple[str, str, str]  # SchemeName, Identification, Name

GROCERS = (("Tesco", "5411"), ("Sainsbury's", "5411"), ("Waitrose", "5411"), ("Lidl", "5411"), ("Co-op", "5411"))
CAFES = (("Pret A Manger", "5814"), ("Costa Coffee", "5814"), ("Greggs", "5814"), ("Leon", "5812"))
TRANSPORT = (("Transport for London", "4111"), ("Trainline", "4112"), ("Uber", "4121"), ("Shell", "5541"))
SHOPS = (("Amazon", "5942"), ("John Lewis", "5311"), ("Boots", "5912"), ("Argos", "5311"), ("IKEA", "5712"))
DINING = (("Nando's", "5812"), ("Wagamama", "5812"), ("Deliveroo", "5812"), ("Dishoom", "5812"))
SUBSCRIPTIONS = (("Netflix", "4899", 1099), ("Spotify", "5815", 1199), ("PureGym", "7997", 2999))
ABROAD = {
    "EUR": (("Carrefour", "5411"), ("SNCF", "4112"), ("Cafe de Flore", "5814"), ("Zara", "5651")),
    "USD": (("Whole Foods", "5411"), ("Starbucks", "5814"), ("Lyft", "4121"), ("Macy's", "5311")),
    "JPY": (("FamilyMart", "5411"), ("JR East", "4112"), ("Ichiran", "5812"), ("Uniqlo", "5651")),
}


@dataclass(frozen=True, slots=True)
class RegularPayment:
    """A direct debit (``DD``) or standing order (``SO``) paid from a current account."""

    kind: str
    payee: str
    reference: str
    day: int
    pence: int
    creditor: Party | None = None
    months: tuple[int, ...] = tuple(range(1, 13))


@dataclass(slots=True)
class Entry:
    """One booking on one account, before it is rendered as an OB transaction."""

    at: datetime
    minor: int  # amount in minor units of ``currency``, always positive
    credit: bool
    info: str
    code: tuple[str, str]  # BankTransactionCode Code, SubCode
    proprietary: str
    currency: str = "GBP"
    gbp_minor: int | None = None  # effect on the GBP balance when ``currency`` is foreign
    rate: float | None = None  # GBP per unit of ``currency``
    merchant: tuple[str, str] | None = None  # MerchantName, MerchantCategoryCode
    creditor: Party | None = None
    debtor: Party | None = None
    card: tuple[str, str] | None = None  # CardSchemeName, PAN

    @property
    def balance_effect(self) -> int:
        amount = self.minor if self.gbp_minor is None else self.gbp_minor
        return amount if self.credit else -amount


def regular_payments(spec: AccountSpec) -> tuple[RegularPayment, ...]:
    """The direct debits and standing orders paid from ``spec`` (current accounts only)."""
    if spec.kind != "current":
        return ()
    if spec.account_id == "acc-joint-dara-emeka":
        return (
            RegularPayment("DD", "Octopus Energy", "OCT-7781-2231", 8, 11_400),
            RegularPayment("DD", "Bristol City Council", "CTAX-55120091", 1, 18_700, months=(*range(4, 13), 1)),
            RegularPayment("DD", "BT Broadband", "BT-GB-88210043", 18, 3_800),
        )
    owner = person(spec.owners[0])
    payments = [
        RegularPayment("DD", "Octopus Energy", f"OCT-{spec.number[-4:]}-{owner.user_id.upper()}", 8, 8_900),
        RegularPayment("DD", "Vodafone", f"VF-{spec.number}", 15, 2_500),
    ]
    if owner.user_id != "dara":
        payments.append(RegularPayment("DD", "City Council Tax", f"CTAX-{spec.number}", 1, 15_200))
    if owner.rent_pence:
        sort_code, number = LANDLORD_ACCOUNTS[owner.landlord]
        payments.append(
            RegularPayment(
                "SO", owner.landlord, f"RENT {owner.name.split()[0].upper()}", 1, owner.rent_pence,
                (SORT_CODE_SCHEME, sort_code + number, owner.landlord),
            )
        )  # fmt: skip
    return tuple(payments)


def party_of(spec: AccountSpec) -> Party:
    holder = person(spec.owners[0]).name
    if spec.kind == "card":
        return (PAN_SCHEME, spec.pan, holder)
    return (SORT_CODE_SCHEME, spec.sort_code_number, holder)


def _card_scheme(pan: str) -> str:
    return "MasterCard" if pan.startswith("5") else "VISA"


def _seeded(name: str, anchor: date) -> random.Random:
    """The generator for one person or account: same name and anchor, same draws."""
    return random.Random(f"{name}|{anchor.isoformat()}")  # noqa: S311 - demo data, not secrets


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


class _Book:
    """Entries per account for one anchor date, and the drawing helpers that fill them."""

    def __init__(self, anchor: date) -> None:
        self.anchor = anchor
        self.start = anchor - timedelta(days=HISTORY_DAYS)
        self.entries: dict[str, list[Entry]] = {a.account_id: [] for a in ACCOUNTS}

    def at(self, rng: random.Random, day: date, first_hour: int = 7, last_hour: int = 21) -> datetime:
        moment = time(rng.randint(first_hour, last_hour), rng.randint(0, 59), rng.randint(0, 59))
        return datetime.combine(day, moment, tzinfo=UTC)

    def add(self, account_id: str, entry: Entry) -> None:
        if self.start <= entry.at.date() <= self.anchor:
            self.entries[account_id].append(entry)

    def transfer(
        self, when: datetime, source: AccountSpec, target: AccountSpec, pence: int, info: str, code: str = "FP"
    ) -> None:
        """Money between two sandbox accounts: a debit on ``source`` and a credit on ``target``."""
        sub = "StandingOrder" if code == "SO" else "DomesticCreditTransfer"
        self.add(
            source.account_id,
            Entry(when, pence, False, info, ("IssuedCreditTransfers", sub), f"{code}O", creditor=party_of(target)),
        )
        self.add(
            target.account_id,
            Entry(when, pence, True, info, ("ReceivedCreditTransfers", sub), f"{code}I", debtor=party_of(source)),
        )

    def card_purchase(
        self, rng: random.Random, account: AccountSpec, day: date, shop: tuple[str, str], pence: int
    ) -> Entry:
        entry = Entry(
            self.at(rng, day),
            pence,
            False,
            f"{shop[0].upper()} CARD PAYMENT",
            ("CustomerCardTransactions", "PointOfSale"),
            "POS",
            merchant=shop,
            card=(_card_scheme(account.pan), account.pan),
        )
        self.add(account.account_id, entry)
        return entry

    def refund(self, rng: random.Random, account: AccountSpec, original: Entry, days_later: int) -> None:
        day = original.at.date() + timedelta(days=days_later)
        self.add(
            account.account_id,
            Entry(
                self.at(rng, day),
                original.minor,
                True,
                f"REFUND {original.merchant[0].upper() if original.merchant else ''}".strip(),
                ("CustomerCardTransactions", "Refund"),
                "REF",
                merchant=original.merchant,
                card=original.card,
            ),
        )


def _pounds(rng: random.Random, low: float, high: float) -> int:
    return int(round(rng.uniform(low, high), 2) * 100)


def _everyday_spending(book: _Book, rng: random.Random, account: AccountSpec, day: date, groceries: bool) -> None:
    if groceries and rng.random() < 0.35:
        book.card_purchase(rng, account, day, rng.choice(GROCERS), _pounds(rng, 12, 95))
    if rng.random() < 0.4:
        book.card_purchase(rng, account, day, rng.choice(CAFES), _pounds(rng, 2.4, 11.5))
    if rng.random() < 0.3:
        book.card_purchase(rng, account, day, rng.choice(TRANSPORT), _pounds(rng, 2.8, 38))
    if rng.random() < 0.08:
        book.card_purchase(rng, account, day, rng.choice(DINING), _pounds(rng, 18, 64))
    if rng.random() < 0.07:
        bought = book.card_purchase(rng, account, day, rng.choice(SHOPS), _pounds(rng, 9, 140))
        if rng.random() < 0.25:
            book.refund(rng, account, bought, rng.randint(3, 20))


def _payday(day: date) -> date:
    """The 25th, or the Friday before it when it falls on a weekend."""
    pay = day.replace(day=25)
    while pay.weekday() >= 5:
        pay -= timedelta(days=1)
    return pay


def _monthly(book: _Book, rng: random.Random, who: Person, current: AccountSpec, day: date) -> None:
    if day == _payday(day):
        sort_code, number = EMPLOYER_ACCOUNTS[who.employer]
        book.add(
            current.account_id,
            Entry(
                datetime.combine(day, time(6, 30), tzinfo=UTC),
                who.salary_pence + rng.randint(-1500, 1500) * 10,
                True,
                f"SALARY {who.employer.upper()}",
                ("ReceivedCreditTransfers", "DomesticCreditTransfer"),
                "BGC",
                debtor=(SORT_CODE_SCHEME, sort_code + number, who.employer),
            ),
        )
    for payment in regular_payments(current):
        if day.day == payment.day and day.month in payment.months:
            _pay_regular(book, rng, current, day, payment)
    if day.day == 3:
        for name, mcc, pence in SUBSCRIPTIONS:
            book.card_purchase(rng, current, day, (name, mcc), pence)


def _pay_regular(book: _Book, rng: random.Random, account: AccountSpec, day: date, payment: RegularPayment) -> None:
    at = datetime.combine(day, time(5, 0), tzinfo=UTC)
    if payment.kind == "SO":
        book.add(
            account.account_id,
            Entry(
                at, payment.pence, False, f"{payment.payee.upper()} {payment.reference}",
                ("IssuedCreditTransfers", "StandingOrder"), "SOO", creditor=payment.creditor,
            ),
        )  # fmt: skip
        return
    pence = payment.pence + rng.randint(-900, 900) if payment.payee.endswith("Energy") else payment.pence
    book.add(
        account.account_id,
        Entry(
            at, pence, False, f"{payment.payee.upper()} {payment.reference}",
            ("IssuedDirectDebits", "DirectDebitPayment"), "DD",
            creditor=(SORT_CODE_SCHEME, f"30{zlib.crc32(payment.payee.encode()):012d}", payment.payee),
        ),
    )  # fmt: skip


def _friends(book: _Book, rng: random.Random, who: Person, current: AccountSpec, day: date) -> None:
    if rng.random() < 0.035:
        friend = main_current(rng.choice(FRIENDS[who.user_id]))
        reason = rng.choice(("DINNER", "TICKETS", "BIRTHDAY GIFT", "TAXI SHARE", "HOLIDAY"))
        book.transfer(book.at(rng, day), current, friend, _pounds(rng, 8, 75), reason)


def _savings(book: _Book, rng: random.Random, current: AccountSpec, savings: AccountSpec, day: date) -> None:
    if day.day == 26:
        book.transfer(datetime.combine(day, time(8, 0), tzinfo=UTC), current, savings, 30_000, "MONTHLY SAVINGS", "SO")
    if day.day == 1:
        months = (day - book.start).days // 30 + 1
        interest = 250 + months * 35 + rng.randint(0, 99)
        book.add(
            savings.account_id,
            Entry(
                datetime.combine(day, time(3, 0), tzinfo=UTC), interest, True, "GROSS INTEREST",
                ("AccountManagement", "Interest"), "INT",
            ),
        )  # fmt: skip
    if rng.random() < 0.006:
        book.transfer(book.at(rng, day), savings, current, _pounds(rng, 200, 900), "SAVINGS WITHDRAWAL")


def _card_account(book: _Book, rng: random.Random, current: AccountSpec, card: AccountSpec) -> None:
    for day in _days(book.start, book.anchor):
        if rng.random() < 0.45:
            bought = book.card_purchase(rng, card, day, rng.choice(SHOPS + DINING + TRANSPORT), _pounds(rng, 6, 120))
            if rng.random() < 0.06:
                book.refund(rng, card, bought, rng.randint(2, 15))
    # Pay the whole balance owed from the current account on the 5th of each month.
    owed = 0
    entries = sorted(book.entries[card.account_id], key=lambda e: e.at)
    cursor = 0
    for day in _days(book.start, book.anchor):
        if day.day != 5:
            continue
        due = datetime.combine(day, time(9, 0), tzinfo=UTC)
        while cursor < len(entries) and entries[cursor].at < due:
            owed -= entries[cursor].balance_effect
            cursor += 1
        if owed > 0:
            book.transfer(due, current, card, owed, "CARD REPAYMENT")
            owed = 0


def _travel_account(book: _Book, rng: random.Random, current: AccountSpec, travel: AccountSpec) -> None:
    day = book.start + timedelta(days=rng.randint(20, 60))
    while day <= book.anchor:
        currency = rng.choice(("EUR", "USD", "JPY"))
        rate = round(_GBP_RATES[currency] * rng.uniform(0.95, 1.05), 6)
        length = rng.randint(4, 9)
        book.transfer(datetime.combine(day - timedelta(days=2), time(19, 0), tzinfo=UTC), current, travel,
                      length * 9_000, f"TOP UP {currency}")  # fmt: skip
        for offset in range(length):
            for _ in range(rng.randint(1, 4)):
                shop = rng.choice(ABROAD[currency])
                local = rng.uniform(3, 90) / _GBP_RATES[currency] * _GBP_RATES["EUR"]
                minor = int(round(local, MINOR_UNITS[currency]) * 10 ** MINOR_UNITS[currency])
                gbp = max(1, round(minor / 10 ** MINOR_UNITS[currency] * rate * 100))
                book.add(
                    travel.account_id,
                    Entry(
                        book.at(rng, day + timedelta(days=offset), 8, 23), minor, False,
                        f"{shop[0].upper()} {currency}", ("CustomerCardTransactions", "PointOfSale"), "POS",
                        currency=currency, gbp_minor=gbp, rate=rate, merchant=shop,
                        card=(_card_scheme(travel.pan), travel.pan),
                    ),
                )  # fmt: skip
        day += timedelta(days=rng.randint(80, 150))


def _joint_account(book: _Book, joint: AccountSpec) -> None:
    rng = _seeded(joint.account_id, book.anchor)
    for day in _days(book.start, book.anchor):
        if day.day == 28:
            for owner in joint.owners:
                book.transfer(datetime.combine(day, time(7, 0), tzinfo=UTC), main_current(owner), joint, 65_000,
                              "HOUSEHOLD", "SO")  # fmt: skip
        for payment in regular_payments(joint):
            if day.day == payment.day and day.month in payment.months:
                _pay_regular(book, rng, joint, day, payment)
        if rng.random() < 0.4:
            book.card_purchase(rng, joint, day, rng.choice(GROCERS), _pounds(rng, 15, 110))


def build_ledgers(anchor: date) -> dict[str, list[Entry]]:
    """Every account's entries from ``anchor`` minus two years up to ``anchor``, oldest first."""
    book = _Book(anchor)
    for who in PEOPLE:
        rng = _seeded(who.user_id, anchor)
        current = main_current(who.user_id)
        own = {a.kind: a for a in ACCOUNTS if a.owners == (who.user_id,) and a is not current}
        shared = any(len(a.owners) > 1 and who.user_id in a.owners for a in ACCOUNTS)
        if "card" in own:
            _card_account(book, rng, current, own["card"])
        if "travel" in own:
            _travel_account(book, rng, current, own["travel"])
        for day in _days(book.start, book.anchor):
            _monthly(book, rng, who, current, day)
            _everyday_spending(book, rng, current, day, groceries=not shared)
            _friends(book, rng, who, current, day)
            if "savings" in own:
                _savings(book, rng, current, own["savings"], day)
    for joint in (a for a in ACCOUNTS if len(a.owners) > 1):
        _joint_account(book, joint)
    for entries in book.entries.values():
        entries.sort(key=lambda e: (e.at, e.info))
    return book.entries
