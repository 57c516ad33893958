"""``python -m sandbox`` refuses a bad option with one line naming it, before it starts serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.__main__ import main

ISSUER = ["--issuer", "http://127.0.0.1:8000"]


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--page-size", "0", "argument --page-size: expected a positive integer, got '0'"),
        ("--page-size", "ten", "argument --page-size: expected a positive integer, got 'ten'"),
        ("--anchor-date", "2026-13-01", "argument --anchor-date: expected a date as YYYY-MM-DD, got '2026-13-01'"),
    ],
)
def test_bad_option_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, expected: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([*ISSUER, "--jwks-file", str(tmp_path / "jwks.json"), option, value])
    assert stopped.value.code == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "No such file or directory"), ('{"keys": "none"}', "expected a JWK set with a 'keys' list")],
)
def test_unreadable_jwks_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    jwks = tmp_path / "jwks.json"
    if content is not None:
        jwks.write_text(content, encoding="utf-8")
    assert main([*ISSUER, "--jwks-file", str(jwks)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sandbox: --jwks-file {jwks}: ")
    assert problem in err
    assert len(err.strip().splitlines()) == 1
