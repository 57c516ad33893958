"""The permission catalogue: codes, their data clusters, and what they mean in plain words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from policies.errors import PolicyError
from policies.load import plain, read_yaml, validate


@dataclass(frozen=True, slots=True)
class Cluster:
    id: str
    title: dict[str, str]
    description: dict[str, str]


@dataclass(frozen=True, slots=True)
class Permission:
    code: str
    cluster: str
    detail: bool
    implies: frozenset[str]
    text: dict[str, str]


@dataclass(frozen=True, slots=True)
class PermissionCatalogue:
    clusters: dict[str, Cluster]
    permissions: dict[str, Permission]

    def unknown(self, codes: Iterable[str]) -> list[str]:
        return [c for c in codes if c not in self.permissions]

    def expand(self, codes: Iterable[str]) -> frozenset[str]:
        """The codes plus everything they imply (Detail implies Basic)."""
        result: set[str] = set()
        stack = list(codes)
        while stack:
            code = stack.pop()
            if code in result:
                continue
            result.add(code)
            if code in self.permissions:
                stack.extend(self.permissions[code].implies)
        return frozenset(result)

    def clusters_of(self, codes: Iterable[str]) -> list[Cluster]:
        """The clusters the codes fall in, in catalogue order (for screens and dashboards)."""
        wanted = {self.permissions[c].cluster for c in codes if c in self.permissions}
        return [c for cid, c in self.clusters.items() if cid in wanted]


def load_permissions(path: Path) -> PermissionCatalogue:
    doc = read_yaml(path)
    problems = validate(doc, "permissions.schema.json")
    if problems:
        raise PolicyError(problems)
    data = plain(doc.data)
    clusters = {cid: Cluster(cid, c["title"], c["description"]) for cid, c in data["clusters"].items()}
    permissions = {}
    for code, p in data["permissions"].items():
        if p["cluster"] not in clusters:
            problems.append(f"{doc.where(['permissions', code, 'cluster'])}: unknown cluster {p['cluster']!r}")
        for implied in p.get("implies", []):
            if implied not in data["permissions"]:
                problems.append(f"{doc.where(['permissions', code, 'implies'])}: unknown permission {implied!r}")
        permissions[code] = Permission(
            code, p["cluster"], p.get("detail", "basic") == "detail", frozenset(p.get("implies", [])), p["text"]
        )
    if problems:
        raise PolicyError(problems)
    return PermissionCatalogue(clusters, permissions)
