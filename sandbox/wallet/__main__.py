"""``python -m sandbox.wallet``: play the wallet against a running WalletGate.

consent   create an account-access consent, push the authorization request, print the
          URL to open, and wait on the loopback redirect URI for the user's answer
accounts  read accounts, balances and recent transactions through the gateway, with the user
          present: each call carries ``x-fapi-customer-ip-address`` (FAPI: sent when the customer
          is present), so it does not count against the consent's unattended daily frequency;
          ``--unattended`` reads as a background refresh does, without it
"""

from __future__ import annotations

import argparse
import http.server
import ipaddress
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from sandbox.wallet.client import AISP, Wallet, WalletError

# UK OB: ReadTransactionsDetail (or Basic) reads nothing without Credits and/or Debits, and the gateway
# refuses a consent that asks for it alone (policies/permissions.yaml, needs_one_of).
DEFAULT_PERMISSIONS = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsDetail",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
]


def _wait_for_callback(redirect_uri: str, timeout: float) -> dict[str, str]:
    parts = urllib.parse.urlsplit(redirect_uri)
    received: dict[str, str] = {}
    done = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path != parts.path:
                self.send_error(404)
                return
            received.update(dict(urllib.parse.parse_qsl(url.query)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"The wallet received the bank's answer. You can close this tab.\n")
            done.set()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.HTTPServer((parts.hostname or "127.0.0.1", parts.port or 80), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        if not done.wait(timeout):
            raise WalletError(f"no answer on {redirect_uri} within {timeout:.0f}s")
    finally:
        server.shutdown()
    return received


def cmd_consent(wallet: Wallet, args: argparse.Namespace) -> int:
    consent_id = wallet.create_consent(args.permissions, args.purpose, args.days, args.history_days)
    print(f"consent {consent_id} created (AWAU)")
    url = wallet.push_authorization_request(consent_id)
    print(f"open this URL in a browser, log in and approve:\n  {url}", flush=True)
    if args.no_wait:
        return 0
    wallet.finish_authorization(_wait_for_callback(wallet.creds["redirect_uri"], args.timeout))
    print("approved: the wallet holds a DPoP-bound access token and a refresh token")
    return 0


def cmd_callback(wallet: Wallet, args: argparse.Namespace) -> int:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(args.url).query))
    wallet.finish_authorization(query)
    print("approved: the wallet holds a DPoP-bound access token and a refresh token")
    return 0


def _ip_address(text: str) -> str:
    """An ``--customer-ip`` value: an IPv4 or IPv6 address, as FAPI's header carries it."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address") from None


def cmd_accounts(wallet: Wallet, args: argparse.Namespace) -> int:
    # The person who ran the command is at this machine: the calls are attended (FAPI 2.0 sends the
    # customer's IP address when the customer is present), unless asked to read as a background job.
    present = {} if args.unattended else {"x-fapi-customer-ip-address": args.customer_ip}
    token = wallet.access_token()
    listing = wallet.api("GET", f"{AISP}/accounts", token, extra=present)
    if listing.status != 200:
        print(f"refused: {listing.status} {listing.body}", file=sys.stderr)
        return 1
    for account in listing.body["Data"].get("Account", []):
        account_id = account["AccountId"]
        kind, currency = account.get("AccountSubType", ""), account.get("Currency", "")
        print(f"{account_id}  {kind}  {currency}  {account.get('Nickname', '')}")
        balances = wallet.api("GET", f"{AISP}/accounts/{account_id}/balances", token, extra=present)
        if balances.status == 200:
            for balance in balances.body["Data"].get("Balance", []):
                amount = balance["Amount"]
                sign = balance["CreditDebitIndicator"]
                print(f"    balance {balance['Type']}: {sign} {amount['Amount']} {amount['Currency']}")
        else:
            print(f"    balances refused: {balances.status}")
        txns = wallet.api("GET", f"{AISP}/accounts/{account_id}/transactions", token, extra=present)
        if txns.status == 200:
            rows = txns.body["Data"].get("Transaction", [])
            print(f"    {len(rows)} transactions on the first page")
            for row in rows[: args.show]:
                amount = row["Amount"]
                day, sign = row["BookingDateTime"][:10], row["CreditDebitIndicator"]
                money = f"{amount['Amount']:>10} {amount['Currency']}"
                print(f"      {day} {sign:<6} {money} {row.get('TransactionInformation', '')}")
        else:
            print(f"    transactions refused: {txns.status}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.wallet", description=__doc__)
    parser.add_argument("--wallet", required=True, type=Path, help="the demo-wallet.json that `walletgate demo` wrote")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("consent", help="create a consent and get it authorised")
    p.add_argument("--permissions", nargs="+", default=DEFAULT_PERMISSIONS)
    p.add_argument("--purpose", help="aggregation, lending or marketing (default: the wallet's registered purpose)")
    p.add_argument("--days", type=int, default=90, help="how long the consent lasts")
    p.add_argument("--history-days", type=int, default=365, help="how far back transactions may be read")
    p.add_argument("--no-wait", action="store_true", help="print the URL and stop (finish with the callback command)")
    p.add_argument("--timeout", type=float, default=300.0)
    p.set_defaults(handler=cmd_consent)
    p = sub.add_parser("callback", help="finish an authorization from the redirect URL")
    p.add_argument("url")
    p.set_defaults(handler=cmd_callback)
    p = sub.add_parser("accounts", help="read accounts, balances and transactions")
    p.add_argument("--show", type=int, default=5, help="transactions to print per account")
    present = p.add_mutually_exclusive_group()
    present.add_argument(
        "--customer-ip",
        type=_ip_address,
        default="127.0.0.1",
        metavar="ADDRESS",
        help="the IP address of the user at the keyboard, sent as x-fapi-customer-ip-address (default: 127.0.0.1, "
        "this machine's loopback: the user runs the command here)",
    )
    present.add_argument(
        "--unattended",
        action="store_true",
        help="read as a background refresh does, the user absent (no x-fapi-customer-ip-address): the calls "
        "count against the consent's daily frequency per operation",
    )
    p.set_defaults(handler=cmd_accounts)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(Wallet(args.wallet), args))
    except WalletError as exc:
        print(f"wallet: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
