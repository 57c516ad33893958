"""``walletgate keys rotate|show``: rotate the gateway's signing keys without breaking live tokens.

Rotation is two steps, so verifiers see a key before anything is signed with it:

1. ``rotate`` with no ``next`` key adds a fresh key as ``next``: published in JWKS, not signing.
2. ``rotate`` when a ``next`` key exists promotes it to ``current`` and retires the old current
   key with ``retire_after`` = now + the longest token lifetime (``access_token_ttl``) + clock
   skew, so it stays in JWKS until every token it signed has expired.

Every rotate also drops retired keys whose ``retire_after`` has passed. Running gateways
reread the key file within about a second of a change, without a restart; between the steps,
wait until every replica and every verifier caching the JWKS has the next key.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.cli import UserFacingError, read_json_file, settings_from_args
from gateway.oauth.keys import GATEWAY_KEY_ALGORITHMS, KeyFileError, KeyRing, generate_jwk, write_private_file
from gateway.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("keys", help="show or rotate the signing keys", description=__doc__.split("\n\n")[0])
    actions = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    rotate_p = actions.add_parser(
        "rotate",
        help="publish a next key, or promote the next key and retire the current one",
        description="Publish a next key (first run) or promote it to current and retire the old one (second run).",
    )
    rotate_p.add_argument("--data-dir", help="data folder holding keys/signing.jwks.json (WALLETGATE_DATA_DIR)")
    rotate_p.add_argument("--alg", choices=GATEWAY_KEY_ALGORITHMS, help="algorithm of a new key (default: current's)")
    rotate_p.set_defaults(handler=run_rotate)
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
    waiting = [k for k in keys if k.get("use_state") == "next"]
    if len(current) != 1:
        raise KeyFileError(f"expected exactly one current key, found {len(current)}")
    if waiting:
        promoted = waiting[0]
        current[0]["use_state"] = "retired"
        current[0]["retire_after"] = int(now + retire_delay)
        promoted["use_state"] = "current"
        summary = (
            f"key {promoted['kid']} now signs; key {current[0]['kid']} retired, "
            f"published until {_iso(current[0]['retire_after'])}"
        )
    else:
        kids = {k["kid"] for k in keys}
        kid = uuid.uuid4().hex
        while kid in kids:  # a uuid4 collision is absurd, but a duplicate kid must be impossible
            kid = uuid.uuid4().hex
        new = generate_jwk(alg or current[0].get("alg", "ES256"), kid=kid) | {"use_state": "next"}
        keys.append(new)
        summary = f"key {kid} ({new['alg']}) published as next; run `walletgate keys rotate` again to make it sign"
    if dropped:
        summary += f"; dropped expired key(s) {', '.join(dropped)}"
    result = {**doc, "keys": keys}
    KeyRing.from_jwks(result)  # refuses duplicate kids or a missing current key before anything is written
    return result, summary


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _load(path: Path) -> dict[str, Any]:
    data = read_json_file(path, missing="no signing-key file here (start the gateway in demo mode once)")
    if not isinstance(data, dict):
        raise UserFacingError(f"{path}: expected a JWK set")
    return data


def run_rotate(args: argparse.Namespace) -> int:
    settings = settings_from_args(args, data_dir=args.data_dir)
    path = key_file(settings)
    try:
        doc, summary = rotate(
            _load(path), now=time.time(), retire_delay=settings.access_token_ttl + settings.clock_skew, alg=args.alg
        )
    except KeyFileError as exc:
        raise UserFacingError(f"{path}: {exc}") from None
    write_private_file(path, doc)
    print(summary)
    return 0


def run_show(args: argparse.Namespace) -> int:
    settings = settings_from_args(args, data_dir=args.data_dir)
    path = key_file(settings)
    print(f"{'kid':<34} {'alg':<6} {'state':<8} retire_after")
    for key in _load(path).get("keys", []):
        retire = _iso(key["retire_after"]) if key.get("retire_after") is not None else "-"
        print(f"{key.get('kid', '?'):<34} {key.get('alg', '?'):<6} {key.get('use_state', 'current'):<8} {retire}")
    return 0
