"""The purposes a consent may be given for, and the rules each carries (read from purposes.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies.errors import PolicyError
from policies.load import Located, plain, read_yaml, validate
from policies.permissions import PermissionCatalogue

if TYPE_CHECKING:
    from policies.apis import PublishedApi


@dataclass(frozen=True, slots=True)
class OnwardSharing:
    allowed: bool
    recipient_kinds: frozenset[str]


@dataclass(frozen=True, slots=True)
class Purpose:
    id: str
    title: Mapping[str, str]
    text: Mapping[str, str]
    permissions: frozenset[str]
    max_duration_days: int
    max_history_months: int
    requires_explicit_opt_in: bool
    onward_sharing: OnwardSharing
    attended_only: bool


@dataclass(frozen=True, slots=True)
class PurposeCatalogue:
    """Every purpose, and the global cap no consent may outlast."""

    max_duration_days: int
    purposes: Mapping[str, Purpose]

    def get(self, purpose_id: str) -> Purpose | None:
        return self.purposes.get(purpose_id)

    def duration_limit_days(self, purpose_ids: tuple[str, ...]) -> int:
        """The longest a consent for all of ``purpose_ids`` may last: the strictest of them and the cap."""
        limits = [self.purposes[p].max_duration_days for p in purpose_ids if p in self.purposes]
        return min([self.max_duration_days, *limits])

    def unknown_in(self, apis: Mapping[str, PublishedApi]) -> list[str]:
        """A problem for each purpose an operation of ``apis`` names that this catalogue does not define."""
        defined = ", ".join(sorted(self.purposes))
        return [
            f"{api.source}: operations.{op_id}.purposes: unknown purpose {pid!r} (purposes.yaml defines: {defined})"
            for api in apis.values()
            for op_id, operation in api.operations.items()
            for pid in sorted(operation.purposes or ())
            if pid not in self.purposes
        ]

    def attended_only(self, purpose_ids: tuple[str, ...]) -> list[str]:
        """Those of ``purpose_ids`` whose data may be read only while the user is present."""
        return [p for p in purpose_ids if p in self.purposes and self.purposes[p].attended_only]


def _purpose(pid: str, data: Mapping[str, Any]) -> Purpose:
    sharing = data.get("onward_sharing") or {"allowed": False}
    return Purpose(
        id=pid,
        title=dict(data["title"]),
        text=dict(data["text"]),
        permissions=frozenset(data["permissions"]),
        max_duration_days=int(data["max_duration_days"]),
        max_history_months=int(data["max_history_months"]),
        requires_explicit_opt_in=bool(data.get("requires_explicit_opt_in", False)),
        onward_sharing=OnwardSharing(bool(sharing["allowed"]), frozenset(sharing.get("recipient_kinds", []))),
        attended_only=bool(data.get("attended_only", False)),
    )


def _cross_check(doc: Located, data: Mapping[str, Any], permissions: PermissionCatalogue) -> list[str]:
    problems = []
    cap = data["max_duration_days"]
    for pid, p in data["purposes"].items():
        for index, code in enumerate(p["permissions"]):
            if code not in permissions.permissions:
                where = doc.where(["purposes", pid, "permissions", index])
                problems.append(f"{where}: unknown permission code {code!r}")
        allowed = [code for code in p["permissions"] if code in permissions.permissions]
        for unmet in permissions.unmet_needs(allowed):
            where = doc.where(["purposes", pid, "permissions", p["permissions"].index(unmet.code)])
            problems.append(f"{where}: {unmet.describe()}, and the purpose allows none of them")
        if p["max_duration_days"] > cap:
            where = doc.where(["purposes", pid, "max_duration_days"])
            problems.append(f"{where}: {p['max_duration_days']} days is above the global cap of {cap} days")
    return problems


def load_purposes(path: Path, permissions: PermissionCatalogue) -> PurposeCatalogue:
    """Read and check purposes.yaml; every problem names the file, line and path."""
    doc = read_yaml(path)
    problems = validate(doc, "purposes.schema.json")
    if problems:
        raise PolicyError(problems)
    problems = _cross_check(doc, doc.data, permissions)
    if problems:
        raise PolicyError(problems)
    data = plain(doc.data)
    purposes = {pid: _purpose(pid, p) for pid, p in data["purposes"].items()}
    return PurposeCatalogue(max_duration_days=int(data["max_duration_days"]), purposes=purposes)
