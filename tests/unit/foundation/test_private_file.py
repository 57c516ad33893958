"""``write_private_file``: a private key file is replaced whole, durably, and by one writer's file at a time."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from gateway.oauth.keys import write_private_file

WRITES_PER_THREAD = 150


def _doc(name: str, size: int) -> dict[str, Any]:
    return {"keys": [{"kid": f"{name}-{n}", "pad": name * 40} for n in range(size)]}


def _leftovers(folder: Path, keep: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != keep)


def test_a_new_private_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    write_private_file(path, _doc("a", 1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == _doc("a", 1)


def test_a_stale_temporary_file_cannot_lend_the_key_file_its_mode(tmp_path: Path) -> None:
    """A leftover (or planted) world-readable temp file beside the key file is never written through."""
    path = tmp_path / "signing.jwks.json"
    stale = tmp_path / "signing.jwks.json.tmp"
    stale.write_text("left over", encoding="utf-8")
    stale.chmod(0o644)
    write_private_file(path, _doc("a", 1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stale.read_text(encoding="utf-8") == "left over"


def test_two_writers_at_once_never_leave_a_torn_file_or_a_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    docs = {"a": _doc("a", 3), "b": _doc("b", 40)}  # different sizes: interleaved writes would not parse
    write_private_file(path, docs["a"])
    start = threading.Barrier(3)
    done = threading.Event()
    failures: list[BaseException] = []
    seen: list[Any] = []

    def writer(name: str) -> None:
        try:
            start.wait(10)
            for _ in range(WRITES_PER_THREAD):
                write_private_file(path, docs[name])
        except BaseException as exc:  # reported below, with the test's own assertion
            failures.append(exc)

    def reader() -> None:
        start.wait(10)
        while not done.is_set():
            text = path.read_text(encoding="utf-8")
            try:
                seen.append(json.loads(text))
            except json.JSONDecodeError as exc:
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in docs]
    watcher = threading.Thread(target=reader)
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    watcher.join(10)

    assert failures == []
    assert all(doc in docs.values() for doc in seen)
    assert json.loads(path.read_text(encoding="utf-8")) in docs.values()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _leftovers(tmp_path, path) == []


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    write_private_file(path, _doc("a", 2))
    before = path.read_bytes()
    unserialisable = {"keys": [{"kid": "k1"}, {"kid": object()}]}  # json.dump fails after writing part of it
    with pytest.raises(TypeError):
        write_private_file(path, unserialisable)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path, path) == []


def test_a_disk_that_refuses_the_sync_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "signing.jwks.json"
    write_private_file(path, _doc("a", 2))
    before = path.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        write_private_file(path, _doc("b", 2))
    assert path.read_bytes() == before
    assert _leftovers(tmp_path, path) == []


def test_the_new_content_reaches_the_disk_before_the_rename_and_the_rename_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash right after the rename cannot leave an empty file: file synced, renamed, then the folder synced."""
    path = tmp_path / "signing.jwks.json"
    write_private_file(path, _doc("a", 1))
    events: list[tuple[str, int, bool]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        events.append(("fsync", info.st_ino, stat.S_ISDIR(info.st_mode)))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append(("replace", os.stat(src).st_ino, False))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_private_file(path, _doc("b", 1))

    new_file, folder = path.stat().st_ino, tmp_path.stat().st_ino
    assert events == [("fsync", new_file, False), ("replace", new_file, False), ("fsync", folder, True)]
