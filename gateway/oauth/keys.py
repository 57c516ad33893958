"""The gateway's own signing keys: load, generate (demo only), sign, verify, publish as JWKS.

The key file is a private JWK set. Each key carries a ``use_state`` member:
``next`` (published, not yet signing), ``current`` (signing: at most one per algorithm),
``retired`` (published until ``retire_after``, a UNIX time after which every token it signed
has expired). The public JWKS lists every key that is not past its ``retire_after``, and a key past
it verifies nothing, whether or not the file still holds it.

With one current key per algorithm, each thing is signed with the algorithm that is cheapest
where it costs (measured here with cryptography 49 / OpenSSL 4): the default key, which signs
the bank assertion on every proxied call as well as nonces and receipts, is the ES256 one (20 µs
per signature against 262 µs for PS256); access tokens, verified on every proxied call, ask for
PS256 (19 µs per verification against 58 µs for ES256); ID tokens ask for the algorithm their
client registered. A set with one current key signs everything with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAPSSAlgorithm

from gateway.oauth import jws

SIGNING_ALGORITHMS = ("PS256", "ES256", "EdDSA")
# The gateway's own keys also sign ID tokens, which must be PS256 or ES256.
GATEWAY_KEY_ALGORITHMS = ("PS256", "ES256")
_USE_STATES = ("next", "current", "retired")
DEFAULT_SIGNING_PREFERENCE = ("ES256", "PS256", "EdDSA")  # the default key: the cheapest signer first
DEMO_KEY_ALGORITHMS = ("ES256", "PS256")  # a demo key set: one current key of each
_log = logging.getLogger("walletgate.keys")
_PUBLIC_MEMBERS = ("kty", "kid", "use", "alg", "crv", "x", "y", "n", "e")


class KeyFileError(Exception):
    """The key file is missing, unreadable or inconsistent."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    state: str  # next | current | retired
    retire_after: float | None
    private: Any  # a cryptography private key
    jwk: Mapping[str, Any]  # the private JWK as stored

    @property
    def public_jwk(self) -> dict[str, Any]:
        return public_jwk(self.jwk) | {"use": "sig", "alg": self.alg}


def generate_jwk(alg: str = "ES256", kid: str | None = None) -> dict[str, Any]:
    """A new private JWK for ``alg`` (PS256 → RSA 2048, ES256 → P-256, EdDSA → Ed25519)."""
    kid = kid or uuid.uuid4().hex
    data: dict[str, Any]
    if alg == "ES256":
        data = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    elif alg == "PS256":
        data = json.loads(RSAPSSAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    elif alg == "EdDSA":
        data = json.loads(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate()))
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}; expected one of {SIGNING_ALGORITHMS}")
    return data | {"kid": kid, "alg": alg, "use": "sig"}


def new_key_set(algs: Sequence[str] = DEMO_KEY_ALGORITHMS) -> dict[str, Any]:
    """A private JWK set with one fresh current key per algorithm in ``algs``."""
    return {"keys": [generate_jwk(alg) | {"use_state": "current"} for alg in algs]}


def public_jwk(private_jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The public members of a JWK (no ``d``, ``p``, ``q``, … and no ``use_state``)."""
    return {k: private_jwk[k] for k in _PUBLIC_MEMBERS if k in private_jwk}


def _load_private(jwk: Mapping[str, Any]) -> Any:
    try:
        return jwt.PyJWK(dict(jwk)).key
    except (jwt.PyJWKError, ValueError, KeyError) as exc:
        raise KeyFileError(f"key {jwk.get('kid')!r}: not a usable private JWK ({exc})") from None


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything a ring knows about its keys at one moment; replaced whole, never changed."""

    keys: tuple[SigningKey, ...]
    current: SigningKey  # the default signer
    current_by_alg: Mapping[str, SigningKey]
    by_kid: Mapping[str, SigningKey]
    public: Mapping[str, Any]  # kid → cryptography public key
    published: tuple[tuple[float | None, dict[str, Any]], ...]  # (retire_after, public JWK) per key


@dataclass(frozen=True, slots=True)
class KeyChange:
    """What one reload did: the kids it added and dropped, and the current kids before and after."""

    added: tuple[str, ...]
    dropped: tuple[str, ...]
    previous_current: tuple[str, ...]
    current: tuple[str, ...]
    dropped_live: tuple[str, ...]  # dropped kids whose tokens may still be live (the old current, unexpired retirees)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.dropped) or self.previous_current != self.current


def _snapshot(keys: Sequence[SigningKey], path: Path | None, algorithms: Collection[str]) -> _Snapshot:
    at = f"{path}: " if path else ""
    kids = [k.kid for k in keys]
    if len(kids) != len(set(kids)):
        raise KeyFileError(f"{at}duplicate kid in the key set")
    for key in keys:
        if key.alg not in algorithms:
            raise KeyFileError(
                f"{at}key {key.kid!r} has alg {key.alg}; the gateway signs ID tokens with its keys, "
                f"so they must be one of {', '.join(algorithms)}"
            )
    current = [k for k in keys if k.state == "current"]
    if not current:
        raise KeyFileError(f"{at}expected a key with use_state 'current', found none")
    algs = [k.alg for k in current]
    twice = sorted({alg for alg in algs if algs.count(alg) > 1})
    if twice:
        raise KeyFileError(f"{at}expected at most one current key per algorithm, found more than one {twice[0]} key")
    by_alg = {k.alg: k for k in current}
    return _Snapshot(
        keys=tuple(keys),
        current=next(by_alg[alg] for alg in DEFAULT_SIGNING_PREFERENCE if alg in by_alg),
        current_by_alg=by_alg,
        by_kid={k.kid: k for k in keys},
        public={k.kid: k.private.public_key() for k in keys},
        published=tuple((k.retire_after, k.public_jwk) for k in keys),
    )


def _signing_keys(data: Mapping[str, Any], where: str) -> list[SigningKey]:
    entries = data.get("keys")
    if not isinstance(entries, list) or not entries:
        raise KeyFileError(f"{where}: expected a JWK set with a non-empty 'keys' list")
    keys = []
    for jwk in entries:
        if not isinstance(jwk, dict):
            raise KeyFileError(f"{where}: every key must be a JSON object (a JWK)")
        alg = jwk.get("alg")
        if alg not in SIGNING_ALGORITHMS:
            raise KeyFileError(f"{where}: key {jwk.get('kid')!r} has alg {alg!r}; expected one of {SIGNING_ALGORITHMS}")
        if not jwk.get("kid"):
            raise KeyFileError(f"{where}: every key needs a kid")
        state, retire_after = jwk.get("use_state", "current"), jwk.get("retire_after")
        if state not in _USE_STATES:
            raise KeyFileError(f"{where}: key {jwk['kid']!r} has use_state {state!r}; expected one of {_USE_STATES}")
        if retire_after is not None and (isinstance(retire_after, bool) or not isinstance(retire_after, int | float)):
            raise KeyFileError(f"{where}: key {jwk['kid']!r} has retire_after {retire_after!r}; expected a UNIX time")
        try:
            private = _load_private(jwk)
        except KeyFileError as exc:
            raise KeyFileError(f"{where}: {exc}") from None
        keys.append(SigningKey(jwk["kid"], alg, state, retire_after, private, jwk))
    return keys


class KeyRing:
    """The signing keys of one gateway, read from a JWK set file and read again by ``reload``.

    All state sits in one frozen snapshot that ``reload`` replaces with a single assignment, so
    every holder of the ring sees the old key set or the new one, never a mixture; ``sign`` and
    ``verify`` read the snapshot once per call and take no lock.
    """

    def __init__(
        self, keys: Sequence[SigningKey], path: Path | None = None, *, algorithms: Collection[str] = SIGNING_ALGORITHMS
    ) -> None:
        self.path = path
        self.algorithms = tuple(algorithms)
        self._snapshot = _snapshot(keys, path, self.algorithms)

    @classmethod
    def from_jwks(
        cls, data: Mapping[str, Any], path: Path | None = None, *, algorithms: Collection[str] = SIGNING_ALGORITHMS
    ) -> KeyRing:
        return cls(_signing_keys(data, str(path or "key set")), path, algorithms=algorithms)

    @classmethod
    def load(cls, path: Path, *, algorithms: Collection[str] = SIGNING_ALGORITHMS) -> KeyRing:
        return cls.from_jwks(read_jwk_set(path, KeyFileError, "key file"), path, algorithms=algorithms)

    @classmethod
    def load_or_create(
        cls, path: Path, algs: Sequence[str] = DEMO_KEY_ALGORITHMS, *, algorithms: Collection[str] = SIGNING_ALGORITHMS
    ) -> KeyRing:
        """Demo mode only: create a key file with one fresh current key per algorithm in ``algs`` when none exists."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_private_file(path, new_key_set(algs))
        return cls.load(path, algorithms=algorithms)

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        return self._snapshot.keys

    @property
    def current(self) -> SigningKey:
        """The default signer (see the module)."""
        return self._snapshot.current

    @property
    def current_keys(self) -> tuple[SigningKey, ...]:
        """Every signing key: one per algorithm."""
        return tuple(self._snapshot.current_by_alg.values())

    def reload(
        self, content: bytes | None = None, now: float | None = None, *, algorithms: Collection[str] | None = None
    ) -> KeyChange:
        """Read the key file again (or parse ``content``, its bytes) and swap the new keys in whole.

        ``algorithms`` narrows what the new file may hold (default: what the ring was built with).
        Raises ``KeyFileError`` naming the file and the problem; the live keys then stay live.
        """
        if self.path is None:
            raise KeyFileError("this key ring was not read from a file")
        where = str(self.path)
        data = read_jwk_set(self.path, KeyFileError, "key file") if content is None else _parse(content, where)
        allowed = self.algorithms if algorithms is None else tuple(algorithms)
        old, new = self._snapshot, _snapshot(_signing_keys(data, where), self.path, allowed)
        self._snapshot = new
        return _change(old, new, time.time() if now is None else now)

    def jwks(self, now: float | None = None) -> dict[str, Any]:
        """The public JWK set: every key that may still verify a live token, and the next one."""
        now = time.time() if now is None else now
        return {
            "keys": [
                jwk for retire_after, jwk in self._snapshot.published if retire_after is None or retire_after > now
            ]
        }

    def verification_key(self, kid: str | None) -> SigningKey | None:
        return self._snapshot.by_kid.get(kid) if kid else None

    def sign(
        self,
        claims: Mapping[str, Any],
        typ: str = "JWT",
        extra_headers: Mapping[str, Any] | None = None,
        *,
        alg: str | None = None,
    ) -> str:
        """Sign with the current key of ``alg`` when the set has one, else with the default key."""
        snapshot = self._snapshot
        key = snapshot.current_by_alg.get(alg, snapshot.current) if alg else snapshot.current
        return jws.sign(claims, key.private, key.alg, {"kid": key.kid, "typ": typ, **(extra_headers or {})})

    def verify(
        self,
        token: str,
        *,
        typ: str | None,
        audience: str | Iterable[str] | None = None,
        issuer: str | None = None,
        leeway: float = 0,
        required: Sequence[str] = ("exp", "iat"),
        now: float | None = None,
    ) -> dict[str, Any]:
        """Verify a JWT this gateway signed. Raises ``jwt.InvalidTokenError`` on any failure.

        The token is parsed once (``gateway.oauth.jws``); this runs on every proxied call. The
        snapshot is read once, so the key and its public half come from the same key set.
        """
        parsed = jws.parse(token)
        header = parsed.header
        if typ is not None and str(header.get("typ", "")).lower() != typ.lower():
            raise jwt.InvalidTokenError(f"expected typ {typ!r}")
        snapshot = self._snapshot
        kid = header.get("kid")
        key = snapshot.by_kid.get(kid) if kid else None
        if key is None:
            raise jwt.InvalidTokenError("unknown kid")
        moment = time.time() if now is None else now
        if key.retire_after is not None and key.retire_after <= moment:
            # Every token it signed has expired; a token it signs now is a forgery with a key that was
            # rotated out, perhaps because it leaked, and the key file has not dropped it yet.
            raise jwt.InvalidTokenError("the key that signed it is retired")
        if header.get("alg") != key.alg:
            raise jwt.InvalidAlgorithmError("alg does not match the key")
        jws.verify_signature(parsed, snapshot.public[key.kid], (key.alg,))
        claims = parsed.claims()
        jws.check_claims(
            claims,
            now=moment,
            leeway=leeway,
            audience=audience,
            issuer=issuer,
            required=required,
        )
        return claims


def _parse(content: bytes, where: str) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise KeyFileError(f"{where}: expected a JWK set with a non-empty 'keys' list")
    return data


def _change(old: _Snapshot, new: _Snapshot, now: float) -> KeyChange:
    dropped = tuple(kid for kid in old.by_kid if kid not in new.by_kid)

    def may_verify_live_tokens(key: SigningKey) -> bool:
        return key.state == "current" or (key.retire_after is not None and key.retire_after > now)

    return KeyChange(
        added=tuple(kid for kid in new.by_kid if kid not in old.by_kid),
        dropped=dropped,
        previous_current=tuple(k.kid for k in old.current_by_alg.values()),
        current=tuple(k.kid for k in new.current_by_alg.values()),
        dropped_live=tuple(kid for kid in dropped if may_verify_live_tokens(old.by_kid[kid])),
    )


class KeyFileWatch:
    """Notice that a ring's key file changed and reload the ring, logging what happened in one line.

    ``check`` compares the file's mtime, size and inode with the last look and, when they
    differ, the SHA-256 of its bytes; only new bytes are parsed. A file that is refused (or
    cannot be read) is logged once, not on every look, and the live keys stay live.
    ``algorithms`` is what a new file may hold (default: what the ring was built with).
    """

    def __init__(self, ring: KeyRing, *, algorithms: Collection[str] | None = None) -> None:
        if ring.path is None:
            raise ValueError("only a ring read from a file can be watched")
        self.ring = ring
        self.path = ring.path
        self.algorithms = algorithms
        self._seen: object = None
        self._digest = b""  # unknown at first: the first look reloads (a no-op when nothing changed)

    def check(self) -> KeyChange | None:
        """Reload the ring if the file holds new bytes; the change, or ``None`` when nothing was swapped."""
        try:
            stat = os.stat(self.path)
            seen: object = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if seen == self._seen:
                return None
            content = self.path.read_bytes()
        except OSError as exc:
            self._refuse(("unreadable", str(exc)), f"{self.path}: cannot read the key file ({exc.strerror})")
            return None
        self._seen = seen
        digest = hashlib.sha256(content).digest()
        if digest == self._digest:
            return None
        self._digest = digest
        try:
            change = self.ring.reload(content, algorithms=self.algorithms)
        except KeyFileError as exc:
            _log.error("signing keys not reloaded, the live keys stay: %s", exc)
            return None
        _log_change(self.path, change)
        return change

    def _refuse(self, seen: object, message: str) -> None:
        if seen != self._seen:
            _log.error("signing keys not reloaded, the live keys stay: %s", message)
        self._seen, self._digest = seen, b""


def _log_change(path: Path, change: KeyChange) -> None:
    if change.dropped_live:
        _log.warning(
            "%s: dropped key(s) %s that may still verify live tokens; those tokens now fail verification",
            path,
            ", ".join(change.dropped_live),
        )
    if change.changed:
        _log.info(
            "signing keys reloaded from %s: current [%s] (was [%s]), added [%s], dropped [%s]",
            path,
            ", ".join(change.current),
            ", ".join(change.previous_current),
            ", ".join(change.added),
            ", ".join(change.dropped),
        )


def read_jwk_set(path: Path, error: type[Exception], what: str) -> dict[str, Any]:
    """The JWK set in the JSON file ``path``, or ``error`` naming the file (``what``) and the problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise error(f"{path}: expected a JWK set with a non-empty 'keys' list")
    return data


def write_private_file(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON readable by the owner only, atomically and durably. A file replaced keeps its owner
    and group where the writer may give them (root, or the owner itself), so a key file handed to the
    gateway's user stays readable by it after a rotation.

    Each write goes through a temporary file of its own beside ``path`` (created 0600, so two writers
    never share one and a stale file cannot lend it its mode), synced to disk before it is renamed over
    ``path``, and the folder is synced after: a crash leaves the old file or the new one, never an empty
    or torn one. A failed write removes its temporary file and leaves ``path`` as it was."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError, PermissionError):
            owner = path.stat()
            os.chown(tmp, owner.st_uid, owner.st_gid)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: the rename lives in the folder's own entry list)."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
