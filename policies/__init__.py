"""The rules as data: permissions, purposes, published APIs and limits.

``load_policies(folder)`` reads and checks the whole set once at start-up and returns a frozen
``PolicySet``; a bad file refuses the whole set with ``PolicyError`` (file, line, path).
This package imports nothing of WalletGate's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from policies.errors import PolicyError
from policies.permissions import PermissionCatalogue, load_permissions

SHIPPED = Path(__file__).resolve().parent

__all__ = ["SHIPPED", "PolicyError", "PolicySet", "load_policies"]


@dataclass(frozen=True, slots=True)
class PolicySet:
    folder: Path
    permissions: PermissionCatalogue


def load_policies(folder: Path = SHIPPED) -> PolicySet:
    return PolicySet(folder=folder, permissions=load_permissions(folder / "permissions.yaml"))
