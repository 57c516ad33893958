"""The permission catalogue: codes, their data clusters, and what they mean in plain words.

Two relations between codes are data, not code: ``implies`` (a Detail code includes its Basic
code) and ``needs_one_of`` (a consent carrying the code must carry at least one of the listed
codes too; UK OB: ReadTransactionsBasic needs ReadTransactionsCredits or ReadTransactionsDebits).
``unmet_needs`` is the one place the second is checked, at consent creation, at amendment and
when a purpose is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from policies.errors import PolicyError
from policies.load import Located, plain, read_yaml, validate


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
    needs_one_of: tuple[str, ...] = ()  # in the file's order, for messages


@dataclass(frozen=True, slots=True)
class UnmetNeed:
    """``code`` was asked for, but ``via`` (``code`` itself or a code it implies) needs one of ``needs_one_of``."""

    code: str
    via: str
    needs_one_of: tuple[str, ...]

    def describe(self) -> str:
        """``X needs at least one of A, B`` (or ``X includes Y, which needs ...``), for a message to go on."""
        needs = f"needs at least one of {', '.join(self.needs_one_of)}"
        return f"{self.code} {needs}" if self.via == self.code else f"{self.code} includes {self.via}, which {needs}"


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

    def unmet_needs(self, codes: Iterable[str]) -> list[UnmetNeed]:
        """Each of ``codes`` (sorted) that, or a code it implies, lacks all of its ``needs_one_of`` among
        ``codes`` and what they imply. Empty when the combination is valid."""
        held = self.expand(codes)
        unmet = []
        for code in sorted(set(codes) & self.permissions.keys()):
            for via in [code, *sorted(self.expand([code]) - {code})]:
                needs = self.permissions[via].needs_one_of if via in self.permissions else ()
                if needs and held.isdisjoint(needs):
                    unmet.append(UnmetNeed(code, via, needs))
                    break
        return unmet

    def clusters_of(self, codes: Iterable[str]) -> list[Cluster]:
        """The clusters the codes fall in, in catalogue order (for screens and dashboards)."""
        wanted = {self.permissions[c].cluster for c in codes if c in self.permissions}
        return [c for cid, c in self.clusters.items() if cid in wanted]


def _needs_problems(doc: Located, code: str, needs: list[str], defined: Mapping[str, object]) -> list[str]:
    """A problem for each code ``needs_one_of`` names that is not defined, or is ``code`` itself."""
    problems = []
    for index, needed in enumerate(needs):
        where = doc.where(["permissions", code, "needs_one_of", index])
        if needed not in defined:
            problems.append(f"{where}: unknown permission {needed!r}")
        elif needed == code:
            problems.append(f"{where}: {code} cannot need itself (the need would always be met)")
    return problems


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
        problems.extend(_needs_problems(doc, code, p.get("needs_one_of", []), data["permissions"]))
        permissions[code] = Permission(
            code,
            p["cluster"],
            p.get("detail", "basic") == "detail",
            frozenset(p.get("implies", [])),
            p["text"],
            tuple(p.get("needs_one_of", [])),
        )
    if problems:
        raise PolicyError(problems)
    return PermissionCatalogue(clusters, permissions)
