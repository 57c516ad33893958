"""``walletgate keys rotate|retire|generate``: one line and exit code 2 for what the user can fix; rotations
run at once take turns."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from gateway.commands import keys as keys_command
from gateway.oauth.keys import KeyRing


@pytest.fixture
def key_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("WALLETGATE_SIGNING_KEYS_FILE", raising=False)
    path = tmp_path / "keys" / "signing.jwks.json"
    KeyRing.load_or_create(path, algs=("ES256",))
    return path


def test_keys_rotate_refuses_a_key_file_a_gateway_would_refuse_in_one_line(
    key_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path.write_text(json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256"}]}), encoding="utf-8")
    assert main(["keys", "rotate", "--data-dir", str(key_path.parent.parent)]) == 2
    assert capsys.readouterr().err == f"walletgate: {key_path}: every key needs a kid\n"


def test_keys_rotate_reports_a_key_file_it_cannot_write_in_one_line(
    key_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(path: Path, data: Any) -> None:
        raise PermissionError(13, "Permission denied", str(path) + ".tmp")

    monkeypatch.setattr(keys_command, "write_private_file", read_only)
    before = key_path.read_bytes()
    assert main(["keys", "rotate", "--data-dir", str(key_path.parent.parent)]) == 2
    assert capsys.readouterr().err == f"walletgate: {key_path}: cannot write the key file (Permission denied)\n"
    assert key_path.read_bytes() == before


def test_two_rotations_run_at_once_take_turns(key_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first rotation publishes a next key, the second promotes it: neither undoes the other."""
    first_has_read, release_first = threading.Event(), threading.Event()
    real_rotate = keys_command.rotate

    def rotate(doc: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], str]:
        result = real_rotate(doc, **kw)
        if threading.current_thread().name == "first":
            first_has_read.set()
            release_first.wait(10)
        return result

    monkeypatch.setattr(keys_command, "rotate", rotate)
    argv = ["keys", "rotate", "--data-dir", str(key_path.parent.parent)]
    codes: dict[str, int] = {}
    first = threading.Thread(target=lambda: codes.update(first=main(argv)), name="first")
    second = threading.Thread(target=lambda: codes.update(second=main(argv)), name="second")
    first.start()
    assert first_has_read.wait(10)
    second.start()
    second.join(1.0)  # without the lock the second rotation finishes here, and the first then overwrites it
    release_first.set()
    first.join(10)
    second.join(10)
    assert codes == {"first": 0, "second": 0}
    states = sorted(k["use_state"] for k in json.loads(key_path.read_text(encoding="utf-8"))["keys"])
    assert states == ["current", "retired"]
