"""The rules as data: permissions, purposes, published APIs and limits.

``load_policies(folder)`` reads and checks the whole set once at start-up and returns a frozen
``PolicySet``; a bad file refuses the whole set with ``PolicyError`` (file, line, path).
This package imports nothing of WalletGate's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from policies.apis import PublishedApi, load_apis
from policies.errors import PolicyError
from policies.limits import LimitPolicy, load_limits
from policies.permissions import PermissionCatalogue, load_permissions
from policies.purposes import PurposeCatalogue, load_purposes

SHIPPED = Path(__file__).resolve().parent

__all__ = ["SHIPPED", "PolicyError", "PolicySet", "load_policies"]


@dataclass(frozen=True, slots=True)
class PolicySet:
    folder: Path
    permissions: PermissionCatalogue
    purposes: PurposeCatalogue
    apis: Mapping[str, PublishedApi] = field(default_factory=dict)  # published APIs by name (apis/*.yaml)
    limits: LimitPolicy = field(default_factory=LimitPolicy)  # limits.yaml (rate limits and quotas)


def load_policies(folder: Path = SHIPPED) -> PolicySet:
    permissions = load_permissions(folder / "permissions.yaml")
    purposes = load_purposes(folder / "purposes.yaml", permissions)
    apis = load_apis(folder / "apis", permissions)
    problems = purposes.unknown_in(apis)
    if problems:
        raise PolicyError(problems)
    limits = load_limits(folder / "limits.yaml", missing_ok=True, apis=apis)
    return PolicySet(folder=folder, limits=limits, permissions=permissions, purposes=purposes, apis=apis)
