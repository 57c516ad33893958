"""A private copy of the shipped policies, for a gateway a test or benchmark starts with other limits."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from policies import SHIPPED

Limits = dict[str, Any]


def shipped_policies_copy(folder: Path, limits: Callable[[Limits], Limits] | None = None) -> Path:
    """The shipped policies copied to ``folder/policies``; ``limits`` rewrites ``limits.yaml`` (parsed).

    The API policies name their OpenAPI documents relatively (``../../openapi/...``), so the
    project's ``openapi`` folder is linked beside the copy."""
    target = folder / "policies"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (folder / "openapi").symlink_to(SHIPPED.parent / "openapi")
    if limits is not None:
        limits_file = target / "limits.yaml"
        edited = limits(yaml.safe_load(limits_file.read_text(encoding="utf-8")))
        limits_file.write_text(yaml.safe_dump(edited), encoding="utf-8")
    return target
