from __future__ import annotations

import json
import os

import jwt
import pytest

from gateway.cli import main
from gateway.commands.keys import retire, rotate
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
    assert ring.verify(token, typ="at+jwt", now=NOW + 200)["exp"] == int(NOW) + 300


def test_a_retired_key_verifies_nothing_past_its_retire_after():
    doc = _doc()
    forged = KeyRing.from_jwks(doc).sign({"iat": int(NOW), "exp": int(NOW) + 10_000}, "at+jwt")
    doc, _ = rotate(doc, now=NOW, retire_delay=310)
    doc, _ = rotate(doc, now=NOW, retire_delay=310)
    ring = KeyRing.from_jwks(doc)
    assert ring.verify(forged, typ="at+jwt", now=NOW + 309)["exp"] == int(NOW) + 10_000
    with pytest.raises(jwt.InvalidTokenError, match="retired"):
        ring.verify(forged, typ="at+jwt", now=NOW + 311)


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


def test_rotate_refuses_a_file_with_two_current_keys_of_one_algorithm():
    doc = {"keys": [generate_jwk(kid="a") | {"use_state": "current"}, generate_jwk(kid="b") | {"use_state": "current"}]}
    with pytest.raises(KeyFileError, match="at most one current key per algorithm"):
        rotate(doc, now=NOW, retire_delay=310)


def test_rotate_refuses_a_file_without_a_current_key():
    with pytest.raises(KeyFileError, match="expected a current key, found none"):
        rotate({"keys": [generate_jwk(kid="a") | {"use_state": "next"}]}, now=NOW, retire_delay=310)


def _two_algorithms():
    return {"keys": [generate_jwk(alg, kid=alg) | {"use_state": "current"} for alg in ("ES256", "PS256")]}


def test_rotate_replaces_each_current_key_by_one_of_its_algorithm():
    doc, summary = rotate(_two_algorithms(), now=NOW, retire_delay=310)
    assert sorted(k["alg"] for k in doc["keys"] if k["use_state"] == "next") == ["ES256", "PS256"]
    assert "published as next" in summary
    doc, summary = rotate(doc, now=NOW, retire_delay=310)
    assert _states(doc)["ES256"] == _states(doc)["PS256"] == "retired"
    ring = KeyRing.from_jwks(doc)
    assert sorted(k.alg for k in ring.current_keys) == ["ES256", "PS256"]
    assert not {"ES256", "PS256"} & {k.kid for k in ring.current_keys}
    assert summary.count("retired") == 2


def test_rotate_with_alg_rotates_that_algorithms_key_only():
    doc, _ = rotate(_two_algorithms(), now=NOW, retire_delay=310, alg="PS256")
    doc, _ = rotate(doc, now=NOW, retire_delay=310)
    assert _states(doc)["ES256"] == "current"
    assert _states(doc)["PS256"] == "retired"


def test_rotate_with_alg_promotes_that_algorithms_next_key_only():
    doc, _ = rotate(_two_algorithms(), now=NOW, retire_delay=310)
    doc, _ = rotate(doc, now=NOW, retire_delay=310, alg="ES256")
    assert _states(doc)["ES256"] == "retired"
    assert _states(doc)["PS256"] == "current"
    assert sorted(k["alg"] for k in doc["keys"] if k["use_state"] == "next") == ["PS256"]


def test_rotate_with_alg_adds_a_key_of_that_algorithm_beside_the_current_one():
    doc, _ = rotate(_doc(), now=NOW, retire_delay=310, alg="PS256")
    assert {k["alg"] for k in doc["keys"] if k["use_state"] == "next"} == {"PS256"}
    doc, summary = rotate(doc, now=NOW, retire_delay=310)
    ring = KeyRing.from_jwks(doc)
    assert _states(doc)["k1"] == "current"
    assert sorted(k.alg for k in ring.current_keys) == ["ES256", "PS256"]
    assert "beside" in summary


def test_keys_rotate_command_edits_the_demo_key_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WALLETGATE_SIGNING_KEYS_FILE", raising=False)
    path = tmp_path / "keys" / "signing.jwks.json"
    KeyRing.load_or_create(path)
    assert main(["keys", "rotate", "--data-dir", str(tmp_path)]) == 0
    assert main(["keys", "rotate", "--data-dir", str(tmp_path), "--alg", "PS256"]) == 0
    doc = json.loads(path.read_text())
    assert sorted(k["use_state"] for k in doc["keys"]) == ["current", "current", "next", "retired"]  # ES256 waits
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert main(["keys", "show", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "retired" in out
    assert '"d"' not in out


def test_keys_rotate_without_a_key_file_explains(tmp_path, capsys):
    assert main(["keys", "rotate", "--data-dir", str(tmp_path)]) == 2
    assert "no signing-key file" in capsys.readouterr().err


def test_keys_generate_writes_a_private_set_with_a_current_es256_and_ps256_key(tmp_path, capsys):
    path = tmp_path / "signing.jwks.json"
    assert main(["keys", "generate", str(path)]) == 0
    ring = KeyRing.load(path)
    assert sorted(k.alg for k in ring.current_keys) == ["ES256", "PS256"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert '"d"' not in capsys.readouterr().out


def test_keys_generate_never_overwrites_a_key_file(tmp_path, capsys):
    path = tmp_path / "signing.jwks.json"
    path.write_text("keep me")
    assert main(["keys", "generate", str(path)]) == 2
    assert path.read_text() == "keep me"
    assert "already exists" in capsys.readouterr().err


def test_retire_stops_an_algorithm_signing_and_keeps_its_key_published_until_its_tokens_expire():
    doc, summary = retire(_two_algorithms(), now=NOW, retire_delay=310, alg="PS256")
    ring = KeyRing.from_jwks(doc)
    assert [k.alg for k in ring.current_keys] == ["ES256"]
    signed = ring.sign({"sub": "alice"}, alg="PS256")  # what PS256 signed, the default key signs now
    assert jwt.get_unverified_header(signed)["kid"] == "ES256"
    assert "PS256" in {k["kid"] for k in ring.jwks(now=NOW + 309)["keys"]}
    assert "PS256" not in {k["kid"] for k in ring.jwks(now=NOW + 311)["keys"]}
    assert "now signed by ES256 (ES256)" in summary


def test_retire_drops_a_next_key_of_that_algorithm_which_never_signed():
    doc, _ = rotate(_two_algorithms(), now=NOW, retire_delay=310, alg="PS256")
    doc, summary = retire(doc, now=NOW, retire_delay=310, alg="PS256")
    assert sorted((k["alg"], k["use_state"]) for k in doc["keys"]) == [("ES256", "current"), ("PS256", "retired")]
    assert "dropped the unused next key" in summary


def test_retire_refuses_to_leave_no_key_to_sign_with():
    with pytest.raises(KeyFileError, match=r"would leave no key to sign with.*rotate --alg PS256"):
        retire(_doc(), now=NOW, retire_delay=310, alg="ES256")


def test_retire_refuses_an_algorithm_with_no_current_key():
    with pytest.raises(KeyFileError, match="no current PS256 key"):
        retire(_doc(), now=NOW, retire_delay=310, alg="PS256")


def test_keys_retire_command_writes_nothing_when_it_refuses(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WALLETGATE_SIGNING_KEYS_FILE", raising=False)
    path = tmp_path / "keys" / "signing.jwks.json"
    KeyRing.load_or_create(path, algs=("ES256",))
    before = path.read_bytes()
    assert main(["keys", "retire", "--data-dir", str(tmp_path), "--alg", "ES256"]) == 2
    assert path.read_bytes() == before
    assert "would leave no key" in capsys.readouterr().err


def test_keys_retire_command_edits_the_key_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WALLETGATE_SIGNING_KEYS_FILE", raising=False)
    path = tmp_path / "keys" / "signing.jwks.json"
    KeyRing.load_or_create(path)
    assert main(["keys", "retire", "--data-dir", str(tmp_path), "--alg", "PS256"]) == 0
    assert [k.alg for k in KeyRing.load(path).current_keys] == ["ES256"]
    assert "retired" in capsys.readouterr().out


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_rotated_key_file_keeps_the_owner_it_was_given(tmp_path, monkeypatch):
    monkeypatch.delenv("WALLETGATE_SIGNING_KEYS_FILE", raising=False)
    path = tmp_path / "keys" / "signing.jwks.json"
    KeyRing.load_or_create(path)
    os.chown(path, 10001, 10001)  # as deploy/secrets/README.md says: the gateway's user owns it
    assert main(["keys", "rotate", "--data-dir", str(tmp_path)]) == 0
    assert main(["keys", "rotate", "--data-dir", str(tmp_path)]) == 0
    owner = path.stat()
    assert (owner.st_uid, owner.st_gid) == (10001, 10001)
    assert oct(owner.st_mode & 0o777) == "0o600"
