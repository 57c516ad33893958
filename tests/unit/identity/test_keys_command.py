from __future__ import annotations

import json

import pytest

from gateway.cli import main
from gateway.commands.keys import rotate
from gateway.oauth.keys import KeyFileError, KeyRing, generate_jwk

NOW = 1_790_000_000.0


def _doc():
    return {"keys": [generate_jwk("ES256", kid="k1") | {"use_state": "current"}]}


def _states(doc):
    return {k["kid"]: k.get("use_state") for k in doc["keys"]}


def test_first_rotate_publishes_a_next_key_that_does_not_sign():
    doc, summary = rotate(_doc(), now=NOW, retire_delay=310)
    ring = KeyRing.from_jwks(doc)
    new_kid = next(k for k, s in _states(doc).items() if s == "next")
    assert ring.current.kid == "k1"
    assert new_kid in {k["kid"] for k in ring.jwks(now=NOW)["keys"]}
    assert "published as next" in summary


def test_second_rotate_promotes_next_and_retires_current_until_tokens_expire():
    doc, _ = rotate(_doc(), now=NOW, retire_delay=310)
    new_kid = next(k for k, s in _states(doc).items() if s == "next")
    doc, summary = rotate(doc, now=NOW + 600, retire_delay=310)
    ring = KeyRing.from_jwks(doc)
    assert ring.current.kid == new_kid
    old = next(k for k in doc["keys"] if k["kid"] == "k1")
    assert old["use_state"] == "retired"
    assert old["retire_after"] == int(NOW + 600 + 310)
    assert "k1" in {k["kid"] for k in ring.jwks(now=NOW + 600 + 309)["keys"]}
    assert "k1" not in {k["kid"] for k in ring.jwks(now=NOW + 600 + 311)["keys"]}
    assert "retired" in summary


def test_a_token_signed_before_rotation_still_verifies_after_it():
    doc = _doc()
    token = KeyRing.from_jwks(doc).sign({"iat": int(NOW), "exp": int(NOW) + 300}, "at+jwt")
    doc, _ = rotate(doc, now=NOW, retire_delay=310)
    doc, _ = rotate(doc, now=NOW, retire_delay=310)
    ring = KeyRing.from_jwks(doc)
    assert ring.current.kid != "k1"
    header_kid = ring.verification_key("k1")
    assert header_kid is not None
    assert ring.verify(token, typ="at+jwt", leeway=1e9)["exp"] == int(NOW) + 300


def test_retired_keys_past_retire_after_are_dropped():
    doc, _ = rotate(_doc(), now=NOW, retire_delay=310)
    doc, _ = rotate(doc, now=NOW, retire_delay=310)
    doc, summary = rotate(doc, now=NOW + 311, retire_delay=310)
    assert "k1" not in _states(doc)
    assert "dropped expired key(s) k1" in summary


def test_rotate_never_produces_duplicate_kids():
    doc = _doc()
    for step in range(6):
        doc, _ = rotate(doc, now=NOW + step * 1000, retire_delay=310)
        kids = [k["kid"] for k in doc["keys"]]
        assert len(kids) == len(set(kids))


def test_rotate_refuses_a_file_with_two_current_keys():
    doc = {"keys": [generate_jwk(kid="a") | {"use_state": "current"}, generate_jwk(kid="b") | {"use_state": "current"}]}
    with pytest.raises(KeyFileError, match="exactly one current key"):
        rotate(doc, now=NOW, retire_delay=310)


def test_rotate_can_switch_algorithm():
    doc, _ = rotate(_doc(), now=NOW, retire_delay=310, alg="EdDSA")
    assert {k["alg"] for k in doc["keys"] if k["use_state"] == "next"} == {"EdDSA"}


def test_keys_rotate_command_edits_the_demo_key_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WALLETGATE_SIGNING_KEYS_FILE", raising=False)
    path = tmp_path / "keys" / "signing.jwks.json"
    KeyRing.load_or_create(path)
    assert main(["keys", "rotate", "--data-dir", str(tmp_path)]) == 0
    assert main(["keys", "rotate", "--data-dir", str(tmp_path), "--alg", "PS256"]) == 0
    doc = json.loads(path.read_text())
    assert sorted(k["use_state"] for k in doc["keys"]) == ["current", "retired"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert main(["keys", "show", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "retired" in out
    assert '"d"' not in out


def test_keys_rotate_without_a_key_file_explains(tmp_path, capsys):
    assert main(["keys", "rotate", "--data-dir", str(tmp_path)]) == 2
    assert "no signing-key file" in capsys.readouterr().err
