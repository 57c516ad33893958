"""What the dashboard and detail pages show of a consent, in the reader's language (pure: no I/O).

Permissions are grouped by data cluster with the policy catalogue's plain text, implied ones
spelled out as the authorization screen spells them; purposes use their policy title; events and
access records are turned into "who did what, when", each access record with the accounts it read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from consent.model import AccessRecord, Actor, Consent, ConsentEvent, ConsentStatus
from gateway.portal.catalogue import Text
from policies import PolicySet
from policies.apis import PublishedApi

if TYPE_CHECKING:
    from gateway.services import Services

CHANGEABLE = frozenset({ConsentStatus.AUTHORISED, ConsentStatus.PAUSED})
STATUSES = tuple(s.value for s in ConsentStatus)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_EVENT_KINDS = frozenset({"created", "authorised", "rejected", "paused", "resumed", "amended", "revoked", "expired"})


@dataclass(frozen=True, slots=True)
class ClusterChoice:
    """One data cluster of a consent: its words and the permission codes it covers."""

    id: str
    title: str
    description: str
    lines: tuple[str, ...]
    codes: tuple[str, ...]


def clusters(consent: Consent, policies: PolicySet, lang: str) -> list[ClusterChoice]:
    catalogue = policies.permissions
    out = []
    for cluster in catalogue.clusters_of(consent.permissions):
        codes = tuple(sorted(c for c in consent.permissions if catalogue.permissions[c].cluster == cluster.id))
        out.append(
            ClusterChoice(
                id=cluster.id,
                title=cluster.title.get(lang, cluster.id),
                description=cluster.description.get(lang, ""),
                lines=tuple(catalogue.permissions[c].text.get(lang, c) for c in codes),
                codes=codes,
            )
        )
    return out


def with_implied(consent: Consent, policies: PolicySet) -> Consent:
    """The consent with the permissions its codes imply spelled out (UK OB: ReadAccountsDetail includes Basic)."""
    return replace(consent, permissions=policies.permissions.expand(consent.permissions))


def shown_clusters(consent: Consent, policies: PolicySet, lang: str) -> list[ClusterChoice]:
    """What the user reads the consent lets the wallet see: the same lines on the authorization screen and dashboard."""
    return clusters(with_implied(consent, policies), policies, lang)


def purposes(consent: Consent, policies: PolicySet, lang: str) -> list[dict[str, str]]:
    shown = []
    for pid in consent.purposes:
        purpose = policies.purposes.get(pid)
        shown.append(
            {
                "id": pid,
                "title": purpose.title.get(lang, pid) if purpose else pid,
                "text": purpose.text.get(lang, "") if purpose else "",
            }
        )
    return shown


def accounts_named(account_ids: Sequence[str], t: Text, *, none: str) -> str:
    """The user's accounts as the pages name them (the bank's account ids, in order), or the words of key ``none``."""
    return ", ".join(dict.fromkeys(account_ids)) if account_ids else t(none)


def recipients(consent: Consent, t: Text) -> list[str]:
    """Who the wallet passes the data on to (``kind:name``), in words: "Experian (a credit reference agency)"."""
    shown = []
    for recipient in consent.recipients:
        kind, _, name = recipient.partition(":")
        label = t(f"recipient_{kind}") if t.has(f"recipient_{kind}") else kind.replace("_", " ")
        shown.append(t("recipient", name=name or kind, kind=label))
    return shown


def windowed_permissions(apis: Iterable[PublishedApi]) -> frozenset[str]:
    """The permission codes of the operations that read within a consent's transaction window.

    Those are the published operations marked ``date_window`` (UK OB: the transaction reads); the
    pipeline clips only their requests to the consent's window, so only a consent that asks for
    one of these codes has a window worth showing.
    """
    return frozenset(
        code
        for api in apis
        for operation in api.operations.values()
        if operation.date_window
        for code in operation.permissions.all_of | operation.permissions.any_of
    )


def live_windowed_permissions(services: Services) -> frozenset[str]:
    """``windowed_permissions`` of the APIs this instance serves now (the shipped set without a pipeline)."""
    runtime = services.pipeline
    apis = runtime.published.apis if runtime is not None else services.policies.apis
    return windowed_permissions(apis.values())


def has_history_window(consent: Consent, policies: PolicySet, windowed: frozenset[str]) -> bool:
    """Whether the consent asks for data its transaction window applies to (Detail counts as its Basic)."""
    return not windowed.isdisjoint(policies.permissions.expand(consent.permissions))


def days_left(expires_at: datetime, now: datetime) -> int:
    """Days from today to the expiry date, counted as on a calendar (UTC), as the screen shows that date.

    The same day is 0 and the next is 1, whatever the hour: a consent created for 90 days and
    shown a minute later still ends 90 days after today's date.
    """
    return max(0, (expires_at.astimezone(UTC).date() - now.astimezone(UTC).date()).days)


def daily_limit(consent: Consent, policies: PolicySet, t: Text) -> str:
    """How often the wallet may read without the user (Berlin Group frequencyPerDay), in words.

    The figure is the one the limiter enforces: the consent's own frequency within the policy's
    cap, counted per kind of data (operation) and UTC day. A purpose read only while the user is
    present says so; a frequency the policy only reports (``mode: report``) is no promise, so
    nothing is said.
    """
    if policies.purposes.attended_only(consent.purposes):
        return t("frequency_attended_only")
    frequency = policies.limits.frequency
    if frequency.mode != "enforce":
        return ""
    count = frequency.allowed(consent.frequency_per_day)
    return t("frequency_once") if count == 1 else t("frequency_per_day", count=count)


def history_window(consent: Consent, t: Text) -> str:
    start, end = consent.transaction_from, consent.transaction_to
    if start is None and end is None:
        return t("auth_history_all")
    if start is None:
        return t("auth_history_to", end=t.date(end))
    if end is None:
        return t("auth_history_from", start=t.date(start))
    return t("auth_history_between", start=t.date(start), end=t.date(end))


def summary(
    consent: Consent,
    policies: PolicySet,
    t: Text,
    *,
    wallet: str,
    last_access: AccessRecord | None,
    windowed: frozenset[str],
) -> dict[str, Any]:
    """One consent as the dashboard lists it. ``windowed``: see ``windowed_permissions``."""
    shown_purposes = purposes(consent, policies, t.lang)
    return {
        "id": consent.consent_id,
        "wallet": wallet,
        "client_id": consent.client_id,
        "status": consent.status.value,
        "status_text": t(f"status_{consent.status.value}"),
        "purposes": shown_purposes,
        "purpose_titles": ", ".join(p["title"] for p in shown_purposes),
        "recipients": recipients(consent, t),
        "clusters": shown_clusters(consent, policies, t.lang),
        "accounts": list(consent.account_ids),
        "accounts_text": accounts_named(consent.account_ids, t, none="no_accounts"),
        "granted_on": t.date(consent.created_at),
        "expires_on": t.date(consent.expires_at) if consent.expires_at else t("no_expiry"),
        "last_accessed": t.time(last_access.at) if last_access else t("never"),
        "history": history_window(consent, t) if has_history_window(consent, policies, windowed) else "",
        "frequency": daily_limit(consent, policies, t),
        "marketing": t("marketing_yes") if consent.marketing_opt_in else t("marketing_no"),
        "asks_marketing": consent.marketing_opt_in is not None,  # asked, so "Not agreed" shows after a no too
        "changeable": consent.status in CHANGEABLE,
        "paused": consent.status is ConsentStatus.PAUSED,
    }


def event(item: ConsentEvent, t: Text) -> dict[str, str]:
    kind = item.kind if item.kind in _EVENT_KINDS else "amended"
    actor_key = {
        Actor.USER: "actor_user",
        Actor.WALLET: "actor_wallet",
        Actor.BANK: "actor_bank",
    }.get(item.actor, "actor_system")
    return {"at": t.time(item.at), "what": t(f"event_{kind}"), "who": t(actor_key, who=item.actor_id)}


def access(record: AccessRecord, t: Text) -> dict[str, str]:
    """One audit record: when, which operation in words, which accounts, how many records, whether it was shared.

    The accounts are those the record names (``docs/publishing.md``): a bulk call names the
    accounts whose data reached the wallet, so one whose answer held none says so in words.
    """
    what = _CAMEL.sub(" ", record.operation_id or record.path).capitalize()
    records = str(record.record_count) if record.record_count is not None else t("access_records_unknown")
    if record.status >= 400:
        result = t("access_refused", status=record.status)
    else:
        result = t("access_shared") if record.complete else t("access_shared_in_part")
    return {
        "at": t.time(record.at),
        "what": what,
        "path": record.path,
        "accounts": accounts_named(record.account_ids, t, none="access_no_accounts"),
        "records": records,
        "result": result,
    }


def group_by_wallet(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consents grouped under their wallet, wallets in order of first appearance (newest consent first)."""
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        group = groups.setdefault(item["client_id"], {"wallet": item["wallet"], "consents": []})
        group["consents"].append(item)
    return list(groups.values())
