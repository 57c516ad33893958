"""``walletgate keys generate|rotate|retire|show``: make the gateway's signing keys, rotate them without
breaking live tokens.

The key set holds one current key per algorithm (``generate`` makes an ES256 and a PS256 one;
``gateway.oauth.keys`` says which signs what). Rotation is two steps, so verifiers see a key
before anything is signed with it:

1. ``rotate`` with no ``next`` key adds a fresh ``next`` key for each current key (or, with
   ``--alg``, one of that algorithm): published in JWKS, not signing.
2. ``rotate`` when ``next`` keys exist promotes each to ``current`` (with ``--alg``, only that
   algorithm's). The current key of the same algorithm is retired with ``retire_after`` = now +
   the longest token lifetime (``access_token_ttl``) + clock skew, so it stays in JWKS until every
   token it signed has expired; a key of an algorithm that had no current key starts signing
   beside the others.

Every rotate also drops retired keys whose ``retire_after`` has passed. ``rotate`` and ``retire``
hold an exclusive lock (``FILE.lock`` beside the key file) from reading the file to replacing it,
so two run at once take turns instead of one undoing the other. Running gateways
reread the key file within about a second of a change, without a restart; between the steps,
wait until every replica and every verifier caching the JWKS has the next key.

``retire --alg ALG`` stops signing with an algorithm: its current key is retired as a rotation
retires it (published until every token it signed has expired), a ``next`` key of it, which never
signed, is dropped, and what it signed falls to the default key. It refuses to leave no key.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.cli import UserFacingError, read_json_file, settings_from_args
from gateway.oauth.keys import (
    GATEWAY_KEY_ALGORITHMS,
    KeyFileError,
    KeyRing,
    generate_jwk,
    new_key_set,
    write_private_file,
)
from gateway.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("keys", help="show or rotate the signing keys", description=__doc__.split("\n\n")[0])
    actions = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    generate_p = actions.add_parser(
        "generate",
        help="write a new private signing-key set (one current ES256 and one current PS256 key)",
        description="Write a new private signing-key set to FILE, readable by its owner only; refuses to overwrite.",
    )
    generate_p.add_argument("file", type=Path, metavar="FILE", help="where to write the key set")
    generate_p.set_defaults(handler=run_generate)
    rotate_p = actions.add_parser(
        "rotate",
        help="publish next keys, or promote them and retire the keys they replace",
        description="Publish next keys (first run) or promote them to current and retire the old ones (second run).",
    )
    rotate_p.add_argument("--data-dir", help="data folder holding keys/signing.jwks.json (WALLETGATE_DATA_DIR)")
    rotate_p.add_argument(
        "--alg", choices=GATEWAY_KEY_ALGORITHMS, help="rotate (or add) this algorithm's key only (default: every one)"
    )
    rotate_p.set_defaults(handler=run_rotate)
    retire_p = actions.add_parser(
        "retire",
        help="stop signing with an algorithm (its key stays published until its tokens expire)",
        description="Retire the current key of ALG; what it signed is signed by the default key from then on.",
    )
    retire_p.add_argument("--data-dir", help="data folder holding keys/signing.jwks.json (WALLETGATE_DATA_DIR)")
    retire_p.add_argument("--alg", choices=GATEWAY_KEY_ALGORITHMS, required=True, help="the algorithm to stop")
    retire_p.set_defaults(handler=run_retire)
    show_p = actions.add_parser("show", help="list the signing keys (no private material)")
    show_p.add_argument("--data-dir", help="data folder holding keys/signing.jwks.json (WALLETGATE_DATA_DIR)")
    show_p.set_defaults(handler=run_show)


def key_file(settings: Settings) -> Path:
    """The signing-key file: the configured one, or the demo one in the data folder."""
    if settings.signing_keys_file is not None:
        return settings.signing_keys_file
    return settings.data_dir / "keys" / "signing.jwks.json"


def rotate(
    doc: dict[str, Any], *, now: float, retire_delay: float, alg: str | None = None
) -> tuple[dict[str, Any], str]:
    """The key set after one rotation step, and a sentence saying what changed."""
    keys = [dict(k) for k in doc.get("keys", [])]
    dropped = [k["kid"] for k in keys if k.get("use_state") == "retired" and float(k.get("retire_after", 0)) <= now]
    keys = [k for k in keys if k["kid"] not in dropped]
    current = [k for k in keys if k.get("use_state", "current") == "current"]
    waiting = [k for k in keys if k.get("use_state") == "next" and (alg is None or k.get("alg") == alg)]
    if not current:
        raise KeyFileError("expected a current key, found none")
    if waiting:
        summary = "; ".join(_promote(key, current, now + retire_delay) for key in waiting)
    else:
        kids = {k["kid"] for k in keys}
        new = []
        for key_alg in [alg] if alg else list(dict.fromkeys(k.get("alg", "ES256") for k in current)):
            kid = uuid.uuid4().hex
            while kid in kids:  # a uuid4 collision is absurd, but a duplicate kid must be impossible
                kid = uuid.uuid4().hex
            kids.add(kid)
            new.append(generate_jwk(key_alg, kid=kid) | {"use_state": "next"})
        keys.extend(new)
        published = ", ".join(f"{k['kid']} ({k['alg']})" for k in new)
        summary = f"key(s) {published} published as next; run `walletgate keys rotate` again to make them sign"
    if dropped:
        summary += f"; dropped expired key(s) {', '.join(dropped)}"
    result = {**doc, "keys": keys}
    KeyRing.from_jwks(result)  # refuses duplicate kids, or no current key, before anything is written
    return result, summary


def retire(doc: dict[str, Any], *, now: float, retire_delay: float, alg: str) -> tuple[dict[str, Any], str]:
    """The key set with ``alg`` no longer signing, and a sentence saying what changed."""
    keys = [dict(k) for k in doc.get("keys", [])]
    current = [k for k in keys if k.get("use_state", "current") == "current" and k.get("alg") == alg]
    if not current:
        raise KeyFileError(f"no current {alg} key to retire")
    if all(k.get("alg") == alg for k in keys if k.get("use_state", "current") == "current"):
        other = next(a for a in GATEWAY_KEY_ALGORITHMS if a != alg)
        raise KeyFileError(
            f"retiring {alg} would leave no key to sign with; add another algorithm's key first "
            f"(`walletgate keys rotate --alg {other}`, twice)"
        )
    unused = [k["kid"] for k in keys if k.get("use_state") == "next" and k.get("alg") == alg]
    keys = [k for k in keys if k["kid"] not in unused]
    for key in current:
        key["use_state"], key["retire_after"] = "retired", int(now + retire_delay)
    result = {**doc, "keys": keys}
    default = KeyRing.from_jwks(result).current
    summary = (
        f"{alg} key(s) {', '.join(k['kid'] for k in current)} retired, published until "
        f"{_iso(now + retire_delay)}; what they signed is now signed by {default.kid} ({default.alg})"
    )
    if unused:
        summary += f"; dropped the unused next key(s) {', '.join(unused)}"
    return result, summary


def _promote(key: dict[str, Any], current: list[dict[str, Any]], retire_after: float) -> str:
    """Make ``key`` current, retiring the current key of its algorithm; what happened, in words."""
    replaced = next((k for k in current if k.get("alg") == key.get("alg")), None)
    key["use_state"] = "current"
    if replaced is None:
        return f"key {key['kid']} ({key.get('alg')}) now signs beside the other current key(s)"
    replaced["use_state"] = "retired"
    replaced["retire_after"] = int(retire_after)
    return (
        f"key {key['kid']} ({key.get('alg')}) now signs; key {replaced['kid']} retired, "
        f"published until {_iso(replaced['retire_after'])}"
    )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _load(path: Path) -> dict[str, Any]:
    data = read_json_file(path, missing="no signing-key file here (start the gateway in demo mode once)")
    if not isinstance(data, dict):
        raise UserFacingError(f"{path}: expected a JWK set")
    return data


def run_rotate(args: argparse.Namespace) -> int:
    return _change_keys(args, rotate)


def run_retire(args: argparse.Namespace) -> int:
    return _change_keys(args, retire)


def _change_keys(args: argparse.Namespace, change: Any) -> int:
    """Apply ``change`` (``rotate`` or ``retire``) to the key file; nothing is written when it refuses."""
    settings = settings_from_args(args, data_dir=args.data_dir)
    path = key_file(settings)
    _load(path)  # a missing or broken file is refused before a lock file is made beside it
    with _locked(path):
        doc = _load(path)
        try:
            KeyRing.from_jwks(doc, path, algorithms=GATEWAY_KEY_ALGORITHMS)  # what a gateway would refuse
            doc, summary = change(
                doc, now=time.time(), retire_delay=settings.access_token_ttl + settings.clock_skew, alg=args.alg
            )
        except KeyFileError as exc:
            raise UserFacingError(str(exc) if str(exc).startswith(f"{path}: ") else f"{path}: {exc}") from None
        _write(path, doc)
    print(summary)
    return 0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``FILE.lock`` (the key file itself is replaced, so it cannot carry the lock)."""
    lock = path.with_name(path.name + ".lock")
    try:
        handle = open(lock, "a")  # noqa: SIM115 - closed below, after the lock is released
    except OSError as exc:
        raise UserFacingError(f"{lock}: cannot lock the key file ({exc.strerror})") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(path: Path, doc: dict[str, Any]) -> None:
    """Replace the key file; a folder or file the user may not write is one line, not a traceback."""
    try:
        write_private_file(path, doc)
    except OSError as exc:
        raise UserFacingError(f"{path}: cannot write the key file ({exc.strerror or exc})") from None


def run_generate(args: argparse.Namespace) -> int:
    path: Path = args.file
    if path.exists():
        raise UserFacingError(f"{path}: already exists; rotate the keys in it (`walletgate keys rotate`) instead")
    if not path.parent.is_dir():
        raise UserFacingError(f"{path.parent}: no such folder")
    doc = new_key_set()
    _write(path, doc)
    print(f"wrote {path}: " + ", ".join(f"{k['kid']} ({k['alg']})" for k in doc["keys"]))
    return 0


def run_show(args: argparse.Namespace) -> int:
    settings = settings_from_args(args, data_dir=args.data_dir)
    path = key_file(settings)
    print(f"{'kid':<34} {'alg':<6} {'state':<8} retire_after")
    for key in _load(path).get("keys", []):
        retire = _iso(key["retire_after"]) if key.get("retire_after") is not None else "-"
        print(f"{key.get('kid', '?'):<34} {key.get('alg', '?'):<6} {key.get('use_state', 'current'):<8} {retire}")
    return 0
