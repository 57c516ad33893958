"""What the dashboard and detail pages show of a consent, in the reader's language (pure: no I/O).

Permissions are grouped by data cluster with the policy catalogue's plain text; purposes use
their policy title; events and access records are turned into "who did what, when".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consent.model import AccessRecord, Actor, Consent, ConsentEvent, ConsentStatus
from gateway.portal.catalogue import Text
from policies import PolicySet

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


def recipients(consent: Consent, t: Text) -> list[str]:
    """Who the wallet passes the data on to (``kind:name``), in words: "Experian (a credit reference agency)"."""
    shown = []
    for recipient in consent.recipients:
        kind, _, name = recipient.partition(":")
        label = t(f"recipient_{kind}") if t.has(f"recipient_{kind}") else kind.replace("_", " ")
        shown.append(t("recipient", name=name or kind, kind=label))
    return shown


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
    consent: Consent, policies: PolicySet, t: Text, *, wallet: str, last_access: AccessRecord | None
) -> dict[str, Any]:
    """One consent as the dashboard lists it."""
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
        "clusters": clusters(consent, policies, t.lang),
        "accounts": list(consent.account_ids),
        "granted_on": t.date(consent.created_at),
        "expires_on": t.date(consent.expires_at) if consent.expires_at else t("no_expiry"),
        "last_accessed": t.time(last_access.at) if last_access else t("never"),
        "history": history_window(consent, t),
        "marketing": t("marketing_yes") if consent.marketing_opt_in else t("marketing_no"),
        "asks_marketing": any(_opt_in(policies, p) for p in consent.purposes),
        "changeable": consent.status in CHANGEABLE,
        "paused": consent.status is ConsentStatus.PAUSED,
    }


def _opt_in(policies: PolicySet, purpose_id: str) -> bool:
    purpose = policies.purposes.get(purpose_id)
    return bool(purpose and purpose.requires_explicit_opt_in)


def event(item: ConsentEvent, t: Text) -> dict[str, str]:
    kind = item.kind if item.kind in _EVENT_KINDS else "amended"
    actor_key = {
        Actor.USER: "actor_user",
        Actor.WALLET: "actor_wallet",
        Actor.BANK: "actor_bank",
    }.get(item.actor, "actor_system")
    return {"at": t.time(item.at), "what": t(f"event_{kind}"), "who": t(actor_key, who=item.actor_id)}


def access(record: AccessRecord, t: Text) -> dict[str, str]:
    """One audit record: when, which operation in words, how many records, and whether it was shared."""
    what = _CAMEL.sub(" ", record.operation_id or record.path).capitalize()
    records = str(record.record_count) if record.record_count is not None else t("access_records_unknown")
    if record.status >= 400:
        result = t("access_refused", status=record.status)
    else:
        result = t("access_shared") if record.complete else t("access_shared_in_part")
    return {"at": t.time(record.at), "what": what, "path": record.path, "records": records, "result": result}


def group_by_wallet(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consents grouped under their wallet, wallets in order of first appearance (newest consent first)."""
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        group = groups.setdefault(item["client_id"], {"wallet": item["wallet"], "consents": []})
        group["consents"].append(item)
    return list(groups.values())
