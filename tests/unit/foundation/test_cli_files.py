"""Commands that read a JSON file the user names refuse a missing or broken one in one line, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main


def _commands(jwks: Path, data_dir: Path) -> dict[str, list[str]]:
    wallet = ["--redirect-uri", "https://w.example/cb", "--data-dir", str(data_dir)]
    return {
        "directory issue-ssa": ["directory", "issue-ssa", "--jwks", str(jwks), *wallet],
        "clients register": ["clients", "register", "--name", "W", "--jwks", str(jwks), *wallet],
    }


@pytest.mark.parametrize("command", ["directory issue-ssa", "clients register"])
def test_a_missing_jwks_file_is_refused_naming_it(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks = tmp_path / "nowhere.jwks.json"
    assert main(_commands(jwks, tmp_path / "data")[command]) == 2
    assert capsys.readouterr().err == f"walletgate: {jwks}: file not found\n"


@pytest.mark.parametrize("command", ["directory issue-ssa", "clients register"])
@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe"])
def test_a_jwks_file_that_is_not_json_is_refused_naming_it(
    command: str, content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks = tmp_path / "broken.jwks.json"
    jwks.write_bytes(content)
    assert main(_commands(jwks, tmp_path / "data")[command]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"walletgate: {jwks}: not valid JSON (")
    assert err.count("\n") == 1


def test_keys_rotate_refuses_a_broken_key_file_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WALLETGATE_SIGNING_KEYS_FILE", raising=False)
    path = tmp_path / "keys" / "signing.jwks.json"
    path.parent.mkdir()
    path.write_text("{not json", encoding="utf-8")
    assert main(["keys", "rotate", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"walletgate: {path}: not valid JSON (")
    assert path.read_text(encoding="utf-8") == "{not json"
