"""An instance's overlay folder: the stored APIs written as files, each swapped in whole."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.published_store import StoredApi
from gateway.publishing import materialize


def _api(name: str, version: str, policy: str = "policy text") -> StoredApi:
    return StoredApi(name, policy, f"openapi of {name} {version}", version)


def test_each_api_becomes_a_folder_with_its_two_documents(tmp_path: Path) -> None:
    materialize(tmp_path, [_api("catalogue", "v1")], {"catalogue"})
    assert (tmp_path / "catalogue" / "policy.yaml").read_text(encoding="utf-8") == "policy text"
    assert (tmp_path / "catalogue" / "openapi.yaml").read_text(encoding="utf-8") == "openapi of catalogue v1"


def test_a_new_version_is_swapped_in_by_replacing_the_link(tmp_path: Path) -> None:
    materialize(tmp_path, [_api("catalogue", "v1")], {"catalogue"})
    materialize(tmp_path, [_api("catalogue", "v2", policy="new policy")], {"catalogue"})
    assert (tmp_path / "catalogue").is_symlink()
    assert os.readlink(tmp_path / "catalogue").endswith("catalogue-v2")
    assert (tmp_path / "catalogue" / "policy.yaml").read_text(encoding="utf-8") == "new policy"


def test_writing_a_version_already_there_changes_nothing(tmp_path: Path) -> None:
    materialize(tmp_path, [_api("catalogue", "v1")], {"catalogue"})
    materialize(tmp_path, [_api("catalogue", "v1")], {"catalogue"})
    assert sorted(p.name for p in (tmp_path / ".versions").iterdir()) == ["catalogue-v1"]


def test_an_api_no_longer_stored_is_dropped(tmp_path: Path) -> None:
    materialize(tmp_path, [_api("catalogue", "v1"), _api("rates", "v1")], {"catalogue", "rates"})
    materialize(tmp_path, [], {"rates"})
    assert not (tmp_path / "catalogue").exists()
    assert (tmp_path / "rates" / "policy.yaml").exists()


def test_no_temporary_entry_is_left_behind(tmp_path: Path) -> None:
    materialize(tmp_path, [_api("catalogue", "v1")], {"catalogue"})
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert [p.name for p in (tmp_path / ".versions").iterdir() if p.name.startswith(".")] == []


def test_only_the_live_version_and_the_one_before_it_are_kept(tmp_path: Path) -> None:
    for version in ("v1", "v2", "v3", "v4"):
        materialize(tmp_path, [_api("catalogue", version)], {"catalogue"})
    kept = sorted(p.name for p in (tmp_path / ".versions").iterdir())
    assert kept == ["catalogue-v3", "catalogue-v4"]
    assert os.readlink(tmp_path / "catalogue").endswith("catalogue-v4")


def test_pruning_one_api_leaves_the_others_versions_alone(tmp_path: Path) -> None:
    materialize(tmp_path, [_api("catalogue-extra", "v1")], {"catalogue-extra"})
    for version in ("v1", "v2", "v3"):
        materialize(tmp_path, [_api("catalogue", version)], {"catalogue", "catalogue-extra"})
    assert (tmp_path / ".versions" / "catalogue-extra-v1").is_dir()
