"""A key ring reads its file again without a restart; a bad file is refused whole and the live keys stay."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from gateway.commands.keys import rotate
from gateway.oauth import jws
from gateway.oauth.keys import (
    GATEWAY_KEY_ALGORITHMS,
    KeyFileError,
    KeyFileWatch,
    KeyRing,
    generate_jwk,
    write_private_file,
)

NOW = 1_790_000_000.0
RETIRE_DELAY = 310


def _ring(tmp_path: Path) -> KeyRing:
    path = tmp_path / "signing.jwks.json"
    write_private_file(path, {"keys": [generate_jwk("ES256", kid="k1") | {"use_state": "current"}]})
    return KeyRing.load(path, algorithms=GATEWAY_KEY_ALGORITHMS)


def _doc(ring: KeyRing) -> dict[str, Any]:
    assert ring.path is not None
    data: dict[str, Any] = json.loads(ring.path.read_text(encoding="utf-8"))
    return data


def _rotate_twice(ring: KeyRing) -> str:
    """Both steps of ``walletgate keys rotate`` on the ring's file; the kid that now signs."""
    assert ring.path is not None
    doc, _ = rotate(_doc(ring), now=NOW, retire_delay=RETIRE_DELAY)
    doc, _ = rotate(doc, now=NOW, retire_delay=RETIRE_DELAY)
    write_private_file(ring.path, doc)
    return str(next(k["kid"] for k in doc["keys"] if k["use_state"] == "current"))


def _kid_of(token: str) -> str:
    return str(jws.parse(token).header["kid"])


def test_reloaded_ring_signs_with_the_new_current_key(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    new_kid = _rotate_twice(ring)
    ring.reload()
    assert _kid_of(ring.sign({"iat": int(NOW), "exp": int(NOW) + 60})) == new_kid


def test_reloaded_ring_still_verifies_tokens_of_the_retired_key(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    old_token = ring.sign({"iat": int(NOW), "exp": int(NOW) + 60})
    _rotate_twice(ring)
    ring.reload()
    assert ring.verify(old_token, typ="JWT", now=NOW)["exp"] == int(NOW) + 60


def test_reload_publishes_the_next_key_before_it_signs(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    assert ring.path is not None
    doc, _ = rotate(_doc(ring), now=NOW, retire_delay=RETIRE_DELAY)
    write_private_file(ring.path, doc)
    ring.reload()
    assert len(ring.jwks(now=NOW)["keys"]) == 2
    assert ring.current.kid == "k1"


def _refused(ring: KeyRing, content: str) -> str:
    assert ring.path is not None
    ring.path.write_text(content, encoding="utf-8")
    live_before = ring.jwks(now=NOW)
    with pytest.raises(KeyFileError) as refused:
        ring.reload()
    assert ring.current.kid == "k1"
    assert ring.jwks(now=NOW) == live_before
    return str(refused.value)


def test_reload_refuses_a_file_that_is_not_json_and_keeps_the_live_keys(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    message = _refused(ring, "{not json")
    assert message.startswith(f"{ring.path}: not valid JSON")


def test_reload_refuses_a_key_with_an_alg_the_gateway_forbids_and_keeps_the_live_keys(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    doc = _doc(ring)
    doc["keys"].append(generate_jwk("EdDSA", kid="ed") | {"use_state": "next"})
    message = _refused(ring, json.dumps(doc))
    assert "key 'ed' has alg EdDSA" in message


def test_reload_refuses_a_file_without_a_current_key_and_keeps_the_live_keys(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    doc = _doc(ring)
    doc["keys"][0]["use_state"] = "next"
    message = _refused(ring, json.dumps(doc))
    assert "expected a key with use_state 'current', found none" in message


def test_reload_refuses_a_retire_after_that_is_not_a_unix_time_and_keeps_the_live_keys(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    doc = _doc(ring)
    doc["keys"].append(generate_jwk("ES256", kid="old") | {"use_state": "retired", "retire_after": "tomorrow"})
    message = _refused(ring, json.dumps(doc))
    assert "key 'old' has retire_after 'tomorrow'; expected a UNIX time" in message


def test_reload_reports_dropping_a_second_current_key_as_live(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    assert ring.path is not None
    doc = _doc(ring)
    write_private_file(ring.path, {"keys": [*doc["keys"], generate_jwk("PS256", kid="p1") | {"use_state": "current"}]})
    assert ring.reload(now=NOW).current == ("k1", "p1")
    write_private_file(ring.path, doc)
    change = ring.reload(now=NOW)
    assert change.dropped_live == ("p1",)
    assert change.previous_current == ("k1", "p1")
    assert change.current == ("k1",)


def test_reload_reports_dropping_the_key_that_was_signing(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    assert ring.path is not None
    write_private_file(ring.path, {"keys": [generate_jwk("ES256", kid="k2") | {"use_state": "current"}]})
    change = ring.reload(now=NOW)
    assert change.dropped_live == ("k1",)
    assert ring.current.kid == "k2"


def test_watch_reloads_the_ring_when_the_file_changes(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    watch = KeyFileWatch(ring)
    watch.check()
    new_kid = _rotate_twice(ring)
    change = watch.check()
    assert change is not None
    assert ring.current.kid == new_kid


def test_watch_does_not_reload_a_file_touched_without_new_bytes(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    watch = KeyFileWatch(ring)
    watch.check()
    assert ring.path is not None
    later = ring.path.stat().st_mtime + 5
    os.utime(ring.path, (later, later))
    assert watch.check() is None


def test_watch_logs_a_refused_file_once_naming_the_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ring = _ring(tmp_path)
    watch = KeyFileWatch(ring)
    watch.check()
    assert ring.path is not None
    ring.path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="walletgate.keys"):
        watch.check()
        watch.check()
    assert [r.getMessage() for r in caplog.records if r.name == "walletgate.keys"] == [
        f"signing keys not reloaded, the live keys stay: {ring.path}: not valid JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
    ]


def test_watch_logs_a_missing_file_and_keeps_the_live_keys(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ring = _ring(tmp_path)
    watch = KeyFileWatch(ring)
    assert ring.path is not None
    ring.path.unlink()
    with caplog.at_level(logging.ERROR, logger="walletgate.keys"):
        assert watch.check() is None
    assert ring.current.kid == "k1"
    assert f"{ring.path}: cannot read the key file (No such file or directory)" in caplog.text


def test_watch_warns_when_a_reload_drops_the_key_that_was_signing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ring = _ring(tmp_path)
    watch = KeyFileWatch(ring)
    watch.check()
    assert ring.path is not None
    write_private_file(ring.path, {"keys": [generate_jwk("ES256", kid="k2") | {"use_state": "current"}]})
    with caplog.at_level(logging.WARNING, logger="walletgate.keys"):
        watch.check()
    assert ring.current.kid == "k2"
    assert "dropped key(s) k1 that may still verify live tokens" in caplog.text


def test_watch_refuses_a_key_outside_the_algorithms_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    write_private_file(path, {"keys": [generate_jwk("ES256", kid="k1") | {"use_state": "current"}]})
    ring = KeyRing.load(path)  # built without the gateway's rule, as gateway/app.py builds it today
    watch = KeyFileWatch(ring, algorithms=GATEWAY_KEY_ALGORITHMS)
    write_private_file(path, {"keys": [generate_jwk("EdDSA", kid="ed") | {"use_state": "current"}]})
    assert watch.check() is None
    assert ring.current.kid == "k1"
