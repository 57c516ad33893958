"""The demo wallet's ``accounts`` command reads with the user present, as FAPI 2.0 marks it.

A person runs ``python -m sandbox.wallet ... accounts`` at the keyboard, so its calls carry
``x-fapi-customer-ip-address`` and do not count against the consent's unattended daily frequency
(4 calls per operation per UTC day by default): the README walkthrough may be run again and again.
``--unattended`` reads as a background refresh does, and meets that limit.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.demo.test_demo_wallet_reads_transactions import Browser, _approve_every_account
from tests.support.demo import Demo, WalletCli

pytestmark = pytest.mark.e2e

DAILY_FREQUENCY = 4  # NewConsent.frequency_per_day: the demo wallet's consent asks for no other


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    demo = Demo(tmp_path_factory.mktemp("demo-attended")).start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def cli(demo: Demo) -> WalletCli:
    """The demo wallet holding tokens for a new consent (its own daily counts), approved by alice."""
    cli = WalletCli(demo.wallet_file)
    callback, _ = _approve_every_account(Browser(demo.issuer), cli.start_consent())
    cli.callback(callback)
    return cli


def test_six_accounts_runs_in_a_row_all_read_everything(cli: WalletCli) -> None:
    # Back to back, so a run also meets the attended rate of one customer (10 calls/s; a run is 9 calls):
    # the wallet waits out such a refusal's Retry-After of a second and reads on.
    for run in range(1, 7):
        done = cli.accounts()
        assert done.returncode == 0, f"run {run}: {done.stderr}"
        assert "refused" not in done.stdout, f"run {run}:\n{done.stdout}"


def test_unattended_runs_meet_the_consents_daily_frequency(cli: WalletCli) -> None:
    first = cli.run("accounts", "--unattended")
    assert first.returncode == 0, first.stderr
    assert "refused" not in first.stdout, first.stdout
    for _ in range(2, DAILY_FREQUENCY + 1):
        assert cli.run("accounts", "--unattended").returncode == 0
    spent = cli.run("accounts", "--unattended")
    assert spent.returncode == 1, spent.stdout
    assert spent.stderr.startswith("refused: 429 "), spent.stderr


def test_a_customer_ip_that_is_not_an_ip_address_is_refused_naming_the_option(demo: Demo) -> None:
    done = WalletCli(demo.wallet_file).run("accounts", "--customer-ip", "at-home")
    assert done.returncode == 2
    assert "argument --customer-ip: 'at-home' is not an IP address" in done.stderr
