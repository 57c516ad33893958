"""Who banks at the sandbox: the five demo users, their accounts and their regular payees.

Everything here is fixed; only the day-to-day transactions are drawn at random (seeded) in
``sandbox.ledger``. The AccountIds are stable across runs and anchor dates:

=========  =====================================================================================
user       AccountIds
=========  =====================================================================================
alice      acc-alice-current, acc-alice-savings, acc-alice-card, acc-alice-travel (GBP, EUR, USD, JPY)
bob        acc-bob-current, acc-bob-card
chen       acc-chen-current, acc-chen-savings, acc-chen-card
dara       acc-dara-current, acc-joint-dara-emeka
emeka      acc-emeka-current, acc-joint-dara-emeka
=========  =====================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AccountKind = Literal["current", "savings", "card", "travel"]

SORT_CODE_SCHEME = "UK.OBIE.SortCodeAccountNumber"
PAN_SCHEME = "UK.OBIE.PAN"
BANK_BIC = "SBXBGB2LXXX"
BANK_NAME = "WalletGate Sandbox Bank"


@dataclass(frozen=True, slots=True)
class Person:
    user_id: str
    name: str
    full_legal_name: str
    email: str
    mobile: str
    street: str
    building: str
    town: str
    post_code: str
    employer: str
    salary_pence: int  # net monthly pay
    rent_pence: int
    landlord: str


@dataclass(frozen=True, slots=True)
class AccountSpec:
    account_id: str
    kind: AccountKind
    owners: tuple[str, ...]  # user ids; the first is the primary holder
    nickname: str
    sort_code: str = ""
    number: str = ""
    pan: str = ""  # card accounts and the debit card of a current account
    opened: str = "2019-04-01"
    credit_limit_pence: int = 0
    overdraft_pence: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def sort_code_number(self) -> str:
        return self.sort_code + self.number


PEOPLE: tuple[Person, ...] = (
    Person(
        "alice", "Alice Thompson", "Alice Mary Thompson", "alice@example.com", "+44-7700900101",
        "Acacia Avenue", "12", "London", "N1 7GU", "Northwind Analytics Ltd", 372_000, 115_000, "Harbour Lettings",
    ),
    Person(
        "bob", "Bob Harris", "Robert James Harris", "bob@example.com", "+44-7700900102",
        "Mill Lane", "4", "Manchester", "M4 1HN", "Harris & Sons Plumbing", 298_000, 79_500, "Northern Homes",
    ),
    Person(
        "chen", "Chen Wei", "Chen Wei", "chen@example.com", "+44-7700900103",
        "Grove Road", "88", "Cambridge", "CB1 2LA", "Fenland BioLabs", 398_000, 142_000, "Granta Estates",
    ),
    Person(
        "dara", "Dara O'Neill", "Dara Siobhan O'Neill", "dara@example.com", "+44-7700900104",
        "Harbour Street", "27", "Bristol", "BS1 5TT", "Avon Council", 228_000, 96_000, "Clifton Property Co",
    ),
    Person(
        "emeka", "Emeka Okafor", "Chukwuemeka Okafor", "emeka@example.com", "+44-7700900105",
        "Harbour Street", "27", "Bristol", "BS1 5TT", "Severn Logistics", 190_000, 0, "",
    ),
)  # fmt: skip

ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("acc-alice-current", "current", ("alice",), "Everyday", "401122", "21436587",
                pan="4929000000006781", overdraft_pence=50_000, opened="2016-09-12"),
    AccountSpec("acc-alice-savings", "savings", ("alice",), "Rainy day", "401122", "31547698", opened="2018-01-03"),
    AccountSpec("acc-alice-card", "card", ("alice",), "Credit card", pan="4539148803436467",
                credit_limit_pence=600_000, opened="2020-05-20"),
    AccountSpec("acc-alice-travel", "travel", ("alice",), "Travel wallet", "401122", "41658709",
                pan="4929000000017895", opened="2021-02-14"),
    AccountSpec("acc-bob-current", "current", ("bob",), "Main account", "403311", "55120934",
                pan="4929000000023422", overdraft_pence=25_000, opened="2012-06-30"),
    AccountSpec("acc-bob-card", "card", ("bob",), "Cashback card", pan="5425233430109903",
                credit_limit_pence=350_000, opened="2022-03-08"),
    AccountSpec("acc-chen-current", "current", ("chen",), "Current", "404477", "60213345",
                pan="4929000000035442", overdraft_pence=100_000, opened="2017-10-02"),
    AccountSpec("acc-chen-savings", "savings", ("chen",), "House deposit", "404477", "60213388", opened="2019-11-11"),
    AccountSpec("acc-chen-card", "card", ("chen",), "Travel card", pan="4716108999716531",
                credit_limit_pence=900_000, opened="2021-07-19"),
    AccountSpec("acc-dara-current", "current", ("dara",), "Personal", "405599", "70314456",
                pan="4929000000041234", overdraft_pence=30_000, opened="2015-03-23"),
    AccountSpec("acc-joint-dara-emeka", "current", ("dara", "emeka"), "Household", "405599", "70319981",
                pan="4929000000058881", overdraft_pence=50_000, opened="2020-08-01"),
    AccountSpec("acc-emeka-current", "current", ("emeka",), "Emeka's account", "406600", "80415567",
                pan="4929000000062225", overdraft_pence=20_000, opened="2014-12-05"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Payee:
    name: str
    sort_code: str
    number: str
    reference: str
    trusted: bool


FRIENDS: dict[str, tuple[str, ...]] = {
    "alice": ("bob", "chen"),
    "bob": ("alice", "dara"),
    "chen": ("alice", "emeka"),
    "dara": ("emeka", "bob"),
    "emeka": ("dara", "chen"),
}

LANDLORD_ACCOUNTS: dict[str, tuple[str, str]] = {
    "Harbour Lettings": ("609204", "11223344"),
    "Northern Homes": ("772211", "99887766"),
    "Granta Estates": ("201515", "55443322"),
    "Clifton Property Co": ("309950", "66778899"),
}

EMPLOYER_ACCOUNTS: dict[str, tuple[str, str]] = {
    "Northwind Analytics Ltd": ("600001", "10002000"),
    "Harris & Sons Plumbing": ("600002", "10002001"),
    "Fenland BioLabs": ("600003", "10002002"),
    "Avon Council": ("600004", "10002003"),
    "Severn Logistics": ("600005", "10002004"),
}


def person(user_id: str) -> Person:
    return next(p for p in PEOPLE if p.user_id == user_id)


def accounts_of(user_id: str) -> tuple[AccountSpec, ...]:
    return tuple(a for a in ACCOUNTS if user_id in a.owners)


def main_current(user_id: str) -> AccountSpec:
    """The user's sole current account (their salary lands there)."""
    return next(a for a in ACCOUNTS if a.kind == "current" and a.owners == (user_id,))
