"""The user's view of their consents, as JSON (pure: no I/O).

Permissions are shown in plain language from the policy's permission catalogue, grouped by data
cluster, in English or Chinese; purposes by their policy title and text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from consent.errors import ConsentFieldError
from consent.model import AccessRecord, Consent, ConsentEvent
from policies import PolicySet

LANGUAGES = ("en", "zh")


def language(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header (by q-value), else English."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, index, tag.strip().lower().split("-")[0]))
    for neg_q, _, tag in sorted(ranked):
        if tag in LANGUAGES and neg_q < 0:
            return tag
    return "en"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _purposes(consent: Consent, policies: PolicySet, lang: str) -> list[dict[str, str]]:
    out = []
    for pid in consent.purposes:
        purpose = policies.purposes.get(pid)
        title = purpose.title.get(lang, pid) if purpose else pid
        text = purpose.text.get(lang, "") if purpose else ""
        out.append({"id": pid, "title": title, "text": text})
    return out


def render_summary(consent: Consent, policies: PolicySet, lang: str) -> dict[str, Any]:
    return {
        "consent_id": consent.consent_id,
        "wallet": consent.client_id,
        "status": consent.status.value,
        "purposes": _purposes(consent, policies, lang),
        "created_at": _iso(consent.created_at),
        "status_updated_at": _iso(consent.status_updated_at),
        "expires_at": _iso(consent.expires_at),
        "version": consent.version,
    }


def _permission_groups(consent: Consent, policies: PolicySet, lang: str) -> list[dict[str, Any]]:
    catalogue = policies.permissions
    groups = []
    for cluster in catalogue.clusters_of(consent.permissions):
        codes = sorted(c for c in consent.permissions if catalogue.permissions[c].cluster == cluster.id)
        groups.append(
            {
                "cluster": cluster.id,
                "title": cluster.title.get(lang, cluster.id),
                "description": cluster.description.get(lang, ""),
                "permissions": [{"code": c, "text": catalogue.permissions[c].text.get(lang, c)} for c in codes],
            }
        )
    return groups


def render_detail(consent: Consent, policies: PolicySet, lang: str) -> dict[str, Any]:
    return render_summary(consent, policies, lang) | {
        "permissions": _permission_groups(consent, policies, lang),
        "accounts": list(consent.account_ids),
        "transaction_from": _iso(consent.transaction_from),
        "transaction_to": _iso(consent.transaction_to),
        "recipients": list(consent.recipients),
        "frequency_per_day": consent.frequency_per_day,
        "marketing_opt_in": consent.marketing_opt_in,
        "updated_at": _iso(consent.updated_at),
    }


def render_event(event: ConsentEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": _iso(event.at),
        "actor": event.actor.value,
        "actor_id": event.actor_id,
        "kind": event.kind,
        "reason": event.reason,
        "changes": event.changes,
        "hash": event.hash,
    }


def render_access(record: AccessRecord) -> dict[str, Any]:
    return {
        "at": _iso(record.at),
        "wallet": record.client_id,
        "operation": record.operation_id,
        "method": record.method,
        "path": record.path,
        "accounts": list(record.account_ids),
        "status": record.status,
        "records": record.record_count,
        "complete": record.complete,
        "interaction_id": record.interaction_id,
    }


def receipt_claims(consent: Consent, events: Sequence[ConsentEvent], *, issuer: str, now: float) -> dict[str, Any]:
    """The claims of a signed consent receipt: the consent as it stands and the head of its event chain."""
    return {
        "iss": issuer,
        "sub": consent.user_id,
        "iat": int(now),
        "jti": f"{consent.consent_id}.{consent.version}",
        "consent": {
            "consent_id": consent.consent_id,
            "wallet": consent.client_id,
            "status": consent.status.value,
            "purposes": list(consent.purposes),
            "permissions": sorted(consent.permissions),
            "accounts": list(consent.account_ids),
            "recipients": list(consent.recipients),
            "created_at": _iso(consent.created_at),
            "expires_at": _iso(consent.expires_at),
            "transaction_from": _iso(consent.transaction_from),
            "transaction_to": _iso(consent.transaction_to),
            "frequency_per_day": consent.frequency_per_day,
            "marketing_opt_in": consent.marketing_opt_in,
            "version": consent.version,
        },
        "event_chain_head": events[-1].hash if events else None,
    }


def parse_amendment(doc: Any) -> tuple[list[str] | None, list[str] | None]:
    """``account_ids`` and/or ``permissions`` to keep, from a JSON amendment body."""
    if not isinstance(doc, dict):
        raise ConsentFieldError("The amendment must be a JSON object.", path="body")
    unknown = sorted(set(doc) - {"account_ids", "permissions", "reason"})
    if unknown:
        raise ConsentFieldError(f"Unknown member {unknown[0]!r} in the amendment.", path=unknown[0])
    lists = []
    for name in ("account_ids", "permissions"):
        value = doc.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise ConsentFieldError(f"{name} must be a list of strings.", path=name)
        lists.append(value)
    if lists == [None, None]:
        raise ConsentFieldError("The amendment must give account_ids and/or permissions to keep.", path="body")
    return lists[0], lists[1]
