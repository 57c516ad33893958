"""The live set of published APIs, and publishing more without a restart.

The shipped policy set (``policies/apis/*.yaml``) is the base. Published APIs are rows of the
database (``gateway.published_store``): ``walletgate apis publish`` and ``PUT /admin/apis/{name}``
check the two documents exactly as an instance will load them (and that every purpose and limit
rule an operation names exists: an unknown limit rule would silently limit nothing), refuse a
base path another API holds, lies under or contains (the longer base path wins a call, so one
would take part of the other's calls), or that lies in the gateway's own namespace
(``GATEWAY_SEGMENTS``: ``/token``, ``/admin``, ``/.well-known``…), and only then write the row.
Every instance, wherever it runs, compares the stored versions once a second, writes the rows
that changed into its own overlay folder
(``DATA_DIR/published-apis/<name>``, a symlink replaced atomically, to a folder holding
``policy.yaml`` and ``openapi.yaml``) and swaps in the new set whole. An API that fails to load
there (written past these checks, or stored before a stricter gateway or a changed policy set)
keeps its live version, or is not served, and is logged; the others are still served, so one bad
row neither hides every published API from an instance that starts nor holds back every later
publish. A set whose APIs clash is refused whole and the live one stays live.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.background import stop_task
from gateway.errors import (
    FieldMissingError,
    GatewayError,
    InvalidTokenError,
    ResourceNotFoundError,
    backend_unavailable,
)
from gateway.filtering import KINDS
from gateway.published_store import PublishedApiStore, StoredApi
from gateway.settings import Settings
from policies import PolicySet
from policies.apis import PublishedApi, load_api
from policies.errors import PolicyError
from policies.load import Located, read_yaml
from policies.permissions import PermissionCatalogue

log = logging.getLogger("walletgate.publishing")

OVERLAY = "published-apis"
_VERSIONS = ".versions"
_KEPT_VERSIONS = 2  # per API: the live folder and the one before it
# First path segments the gateway serves itself (OAuth, discovery, portal, admin, probes); a
# published API may not sit under one. tests/integration/publishing checks it covers every route.
GATEWAY_SEGMENTS = frozenset(
    {
        ".well-known", "admin", "api", "authorize", "dashboard", "healthz", "introspect", "jwks", "language",
        "login", "logout", "metrics", "openapi.json", "par", "readyz", "register", "revoke", "static", "token",
        "user", "userinfo",
    }
)  # fmt: skip


def overlay_dir(settings: Settings) -> Path:
    return settings.data_dir / OVERLAY


def check_api(openapi: Path, policy: Path, policies: PolicySet) -> PublishedApi:
    """Load ``policy`` against ``openapi`` exactly as publishing would. Raises ``PolicyError``."""
    api = load_api(policy, policies.permissions, policy.name, openapi=openapi)
    doc = read_yaml(policy, policy.name)
    problems = [*_unknown_filters(api, doc.where), *_unknown_references(api, doc, policies)]
    if problems:
        raise PolicyError(problems)
    return api


def _unknown_references(api: PublishedApi, doc: Located, policies: PolicySet) -> list[str]:
    """The purposes and limit rules the operations name that the policy set does not define."""
    purposes = ", ".join(sorted(policies.purposes.purposes))
    rules = ", ".join(sorted(policies.limits.rules)) or "none"
    problems = []
    for op in api.operations.values():
        where = ["operations", op.operation_id]
        for purpose in sorted(op.purposes or ()):
            if purpose not in policies.purposes.purposes:
                problems.append(f"{doc.where([*where, 'purposes'])}: unknown purpose {purpose!r}; known: {purposes}")
        for index, rule in enumerate(op.limits):
            if rule not in policies.limits.rules:
                problems.append(
                    f"{doc.where([*where, 'limits', index])}: unknown limit rule {rule!r}; defined: {rules}"
                )
    return problems


def _unknown_filters(api: PublishedApi, where: Callable[[list[str | int]], str] | None = None) -> list[str]:
    known = ", ".join(sorted(KINDS))
    locate = where or (lambda path: f"{api.source}: " + ".".join(map(str, path)))
    return [
        f"{locate(['operations', op.operation_id, 'filter'])}: unknown filter {op.filter!r}; known: {known}"
        for op in api.operations.values()
        if op.filter is not None and op.filter not in KINDS
    ]


def check_texts(name: str | None, policy_text: str, openapi_text: str, policies: PolicySet) -> PublishedApi:
    """``check_api`` for the two documents given as text (the admin API's way in)."""
    with tempfile.TemporaryDirectory() as tmp:
        policy, openapi = Path(tmp) / "policy.yaml", Path(tmp) / "openapi.yaml"
        policy.write_text(policy_text, encoding="utf-8")
        openapi.write_text(openapi_text, encoding="utf-8")
        api = check_api(openapi, policy, policies)
    if name is not None and api.name != name:
        raise PolicyError([f"policy.yaml: name: {api.name!r} does not match the API name {name!r} in the URL"])
    return api


async def publish(
    store: PublishedApiStore,
    api: PublishedApi,
    policy_text: str,
    openapi_text: str,
    shipped: Mapping[str, PublishedApi],
    *,
    source: str,
) -> None:
    """Store a checked API, unless its base path is the gateway's own or another API's (shipped or
    stored), lies under one or contains one.

    Raises ``PolicyError`` and stores nothing; ``source`` names the policy in that error.
    """
    segment = api.base_path.split("/")[1]
    if segment in GATEWAY_SEGMENTS:
        raise PolicyError([f"{source}: base_path {api.base_path!r} is in the gateway's own /{segment}"])
    async with store.exclusive() as conn:  # no other publish between the checks and the write
        holders: dict[str, tuple[str | None, str]] = {n: (o.base_path, o.source) for n, o in shipped.items()}
        for stored in await store.load(conn=conn):
            holders[stored.name] = (_base_path(stored.policy), f"{OVERLAY}/{stored.name}/policy.yaml")
        _check_base_path(api, holders, source)
        await store.put(api.name, policy_text, openapi_text, at=datetime.now(UTC), conn=conn)


def _check_base_path(api: PublishedApi, holders: Mapping[str, tuple[str | None, str]], source: str) -> None:
    """Refuse a base path another API holds, lies under or contains (``holders``: name → base path, file)."""
    for name, (base, where) in holders.items():
        if name == api.name or base is None:
            continue
        if base == api.base_path:
            raise PolicyError([f"{source}: base_path {api.base_path!r} is already used by {where}"])
        if _under(api.base_path, base):
            raise PolicyError([f"{source}: base_path {api.base_path!r} lies under {base!r}, used by {where}"])
        if _under(base, api.base_path):
            raise PolicyError([f"{source}: base_path {api.base_path!r} contains {base!r}, used by {where}"])


def _under(path: str, base: str) -> bool:
    """Whether ``path`` lies below ``base`` (whole segments: /ab is not below /a)."""
    return path.startswith(base + "/")


async def unpublish(store: PublishedApiStore, name: str, shipped: Mapping[str, PublishedApi]) -> None:
    """Withdraw a published API: every instance stops serving it within a second (a shipped API of
    the same name, which it replaced, is served again). Raises ``PolicyError`` for a shipped API or
    an unknown name, and changes nothing."""
    if await store.delete(name):
        return
    if name in shipped:
        raise PolicyError([f"{name}: shipped with the policies ({shipped[name].source}); remove it from there"])
    raise PolicyError([f"{name}: no API of that name is published"])


def _base_path(policy_text: str) -> str | None:
    """The base path of a stored policy (it was checked when it was published)."""
    data = yaml.safe_load(policy_text)
    base = data.get("base_path") if isinstance(data, dict) else None
    return base.rstrip("/") if isinstance(base, str) else None


def materialize(root: Path, stored: Sequence[StoredApi], keep: Collection[str]) -> None:
    """Write ``stored`` into the overlay folder ``root``, and drop every API not named in ``keep``.

    Each version gets its own folder, written aside and renamed into place, then the API's
    symlink is replaced atomically: a reader sees the old pair or the new one, never half, and
    instances sharing one data folder can write the same version at once.
    """
    versions = root / _VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    for api in stored:
        folder = versions / f"{api.name}-{api.version}"
        if not folder.is_dir():
            staging = versions / f".{api.name}.{uuid.uuid4().hex}.tmp"
            staging.mkdir()
            (staging / "policy.yaml").write_text(api.policy, encoding="utf-8")
            (staging / "openapi.yaml").write_text(api.openapi, encoding="utf-8")
            try:
                staging.rename(folder)
            except OSError:  # another instance sharing this folder placed the same version first
                shutil.rmtree(staging, ignore_errors=True)
        link = root / f".{api.name}.{uuid.uuid4().hex}.tmp"
        link.symlink_to(folder.relative_to(root), target_is_directory=True)
        os.replace(link, root / api.name)
        _prune(versions, api.name, folder)
    for entry in _entries(root):
        if entry.name not in keep and entry.is_symlink():
            entry.unlink()


def _prune(versions: Path, name: str, live: Path) -> None:
    """Remove all but the newest ``_KEPT_VERSIONS`` folders of ``name`` (the live one always stays).

    The one before the live one is kept for an instance sharing this folder that may still be
    reading it."""
    folders = sorted(
        (f for f in versions.glob(f"{name}-*") if f.is_dir() and f != live and f.name[len(name) + 1 :].isalnum()),
        key=lambda f: f.stat().st_mtime_ns,
        reverse=True,
    )
    for old in folders[_KEPT_VERSIONS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def load_overlay(
    root: Path, catalogue: PermissionCatalogue, shipped: Mapping[str, PublishedApi]
) -> dict[str, PublishedApi]:
    """Every API in the overlay, by name. Raises ``PolicyError`` naming each problem."""
    apis, failed = _load_each(root, catalogue)
    if failed:
        raise PolicyError([problem for problems in failed.values() for problem in problems])
    return apis


def _load_each(
    root: Path, catalogue: PermissionCatalogue, policies: PolicySet | None = None
) -> tuple[dict[str, PublishedApi], dict[str, list[str]]]:
    """The APIs of the overlay that load, and the problems of each that does not, by folder name.

    With ``policies``, an API naming a purpose or limit rule the policy set does not define (it
    was stored under other policies) does not load either: its unknown limit would limit nothing."""
    apis: dict[str, PublishedApi] = {}
    failed: dict[str, list[str]] = {}
    for entry in _entries(root):
        shown = f"{OVERLAY}/{entry.name}/policy.yaml"
        try:
            api = load_api(entry / "policy.yaml", catalogue, shown, openapi=entry / "openapi.yaml")
            unknown = _unknown_references(api, read_yaml(entry / "policy.yaml", shown), policies) if policies else []
        except PolicyError as exc:
            failed[entry.name] = list(exc.problems)
            continue
        if api.name != entry.name:
            failed[entry.name] = [f"{shown}: name {api.name!r} does not match its folder"]
            continue
        if unknown:
            failed[entry.name] = unknown
            continue
        apis[api.name] = api
    return apis, failed


def _entries(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and p.is_dir())


def _fingerprint(root: Path) -> tuple[tuple[str, str], ...]:
    return tuple((p.name, os.readlink(p) if p.is_symlink() else str(p.stat().st_mtime_ns)) for p in _entries(root))


class PublishedApis:
    """What the gateway serves right now: APIs by name, found by base path, swapped whole."""

    def __init__(
        self,
        settings: Settings,
        shipped: Mapping[str, PublishedApi],
        catalogue: PermissionCatalogue,
        *,
        store: PublishedApiStore | None = None,
        poll_interval: float = 1.0,
        policies: PolicySet | None = None,
    ) -> None:
        self._settings, self._shipped, self._catalogue = settings, dict(shipped), catalogue
        self._policies = policies  # given: a stored API must name only purposes and limits it defines
        self._root = overlay_dir(settings)
        self._store = store
        self._versions: dict[str, str] | None = None  # what the overlay folder holds, once synced
        self._syncing = asyncio.Lock()  # the poller and an admin publish take turns
        self._poll_interval = poll_interval
        self._fingerprint: tuple[tuple[str, str], ...] = ()
        self._task: asyncio.Task[None] | None = None
        self.schema_problems: Counter[tuple[str, str]] = Counter()
        check_live_set(self._shipped)
        self._install(self._shipped)

    @property
    def apis(self) -> Mapping[str, PublishedApi]:
        return self._live.apis

    def find(self, path: str) -> tuple[PublishedApi, str] | None:
        """The API whose base path prefixes ``path``, and the rest of the path."""
        for base, api in self._live.by_base:
            if path.startswith(base) and (len(path) == len(base) or path[len(base)] == "/"):
                return api, path[len(base) :] or "/"
        return None

    def upstream_url(self, api: PublishedApi) -> str:
        return self._live.upstreams[api.name]

    def audience(self, api: PublishedApi) -> str:
        """The ``aud`` of the gateway assertion: the bank's base URL (scheme, host, port)."""
        return self._live.audiences[api.name]

    def count_schema_problem(self, api: str, operation_id: str) -> None:
        self.schema_problems[(api, operation_id)] += 1

    def reload(self) -> bool:
        """Load the overlay now; True when the live set changed.

        An API that does not load is logged and keeps the version that is live (none, on an
        instance that never served it); the others are served. A set whose APIs each load but
        clash (two on one base path) is refused whole, and the live set stays live."""
        fingerprint = _fingerprint(self._root)
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        overlay, failed = _load_each(self._root, self._catalogue, self._policies)
        live = self._live.apis
        for name, problems in failed.items():
            kept = "its live version stays live" if name in live else "it is not served"
            log.error("published API %s not reloaded; %s:\n%s", name, kept, "\n".join(problems))
            if name in live:
                overlay[name] = live[name]
        combined = {**self._shipped, **overlay}
        try:
            check_live_set(combined)
        except PolicyError as exc:
            log.error("published APIs not reloaded; the live set stays live:\n%s", exc)
            return False
        if combined.keys() == live.keys() and all(combined[name] is live[name] for name in live):
            return False
        self._install(combined)
        log.info("published APIs now: %s", ", ".join(sorted(combined)))
        return True

    async def sync(self) -> bool:
        """Bring the overlay folder level with the database, then ``reload``; True when the live set changed."""
        async with self._syncing:
            if self._store is not None:
                versions = await self._store.versions()
                if versions != self._versions:
                    held = self._versions or {}
                    changed = await self._store.load(name for name, v in versions.items() if held.get(name) != v)
                    await asyncio.to_thread(materialize, self._root, changed, versions)
                    self._versions = versions
            return await asyncio.to_thread(self.reload)

    async def start(self) -> None:
        try:
            await self.sync()
        except Exception as exc:
            _log_failure("loading the published APIs failed", exc, "serving the shipped ones until the next poll")
        if self._task is None:
            self._task = asyncio.create_task(self._poll(), name="published-apis")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _poll(self) -> None:
        """Sync once a second. A failure (the database is down, not migrated) is logged when it starts
        or changes, not every second, and its end is logged too."""
        failing: str | None = None
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self.sync()
            except Exception as exc:
                if repr(exc) != failing:
                    _log_failure("polling the published APIs failed", exc, "the live set stays live")
                failing = repr(exc)
            else:
                if failing is not None:
                    log.info("polling the published APIs works again")
                failing = None

    def _install(self, apis: Mapping[str, PublishedApi]) -> None:
        """Swap in a whole new snapshot: one reference assignment, so a request sees old or new, never half."""
        variables = {"upstream_url": self._settings.upstream_url}
        upstreams = {name: api.upstream_url(variables) for name, api in apis.items()}
        self._live = _Snapshot(
            apis=dict(apis),
            by_base=tuple(sorted(((api.base_path, api) for api in apis.values()), key=lambda e: -len(e[0]))),
            upstreams=upstreams,
            audiences={name: _origin(url) for name, url in upstreams.items()},
        )


@dataclass(frozen=True, slots=True)
class _Snapshot:
    apis: Mapping[str, PublishedApi]
    by_base: tuple[tuple[str, PublishedApi], ...]
    upstreams: Mapping[str, str]
    audiences: Mapping[str, str]


def _log_failure(what: str, exc: Exception, outcome: str) -> None:
    """One line when the database cannot be reached; the traceback for anything else."""
    if backend_unavailable(exc):
        log.error("%s: the database cannot be reached (%s: %s); %s", what, type(exc).__name__, exc, outcome)
    else:
        log.exception("%s; %s", what, outcome)


def check_live_set(apis: Mapping[str, PublishedApi]) -> None:
    """What a live set must satisfy beyond each file: unique base paths and known filter kinds."""
    _check_base_paths(apis)
    problems = [problem for api in apis.values() for problem in _unknown_filters(api)]
    if problems:
        raise PolicyError(problems)


def _check_base_paths(apis: Mapping[str, PublishedApi]) -> None:
    seen: dict[str, str] = {}
    problems = []
    for api in apis.values():
        if api.base_path in seen:
            problems.append(f"{api.source}: base_path {api.base_path!r} is already used by {seen[api.base_path]}")
        seen[api.base_path] = api.source
    if problems:
        raise PolicyError(problems)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class AdminUnauthorisedError(InvalidTokenError):
    """The admin API needs ``Authorization: Bearer <settings.admin_token>``."""

    scheme = "Bearer"
    message = "The admin token is missing or wrong."


def _check_admin(request: Request) -> Settings:
    settings: Settings = request.app.state.services.settings
    if not settings.admin_token:
        raise ResourceNotFoundError("The admin API is disabled (no admin token is configured).")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), str(settings.admin_token).encode()):
        raise AdminUnauthorisedError()
    return settings


async def put_api(request: Request) -> Response:
    """``PUT /admin/apis/{name}`` with JSON ``{"policy": "<yaml>", "openapi": "<yaml>"}``: check, then publish."""
    _check_admin(request)
    services = request.app.state.services
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise GatewayError("The body must be JSON with 'policy' and 'openapi' texts.", path="(body)") from None
    texts = [body.get(key) if isinstance(body, dict) else None for key in ("policy", "openapi")]
    for key, text in zip(("policy", "openapi"), texts, strict=True):
        if not isinstance(text, str) or not text.strip():
            raise FieldMissingError(f"'{key}' must hold the {key} document as text.", path=key)
    name = request.path_params["name"]
    policy_text, openapi_text = str(texts[0]), str(texts[1])
    try:
        api = await asyncio.to_thread(check_texts, name, policy_text, openapi_text, services.policies)
        store = PublishedApiStore(services.engine)
        await publish(store, api, policy_text, openapi_text, services.policies.apis, source="policy.yaml")
    except PolicyError as exc:
        raise GatewayError("The API is refused: " + " | ".join(exc.problems), path=name) from None
    runtime = services.pipeline
    if runtime is not None:
        await runtime.published.sync()
    return JSONResponse(
        {"name": api.name, "base_path": api.base_path, "operations": sorted(api.operations)}, status_code=200
    )


async def delete_api(request: Request) -> Response:
    """``DELETE /admin/apis/{name}``: withdraw a published API; 204, or 404 for a name not published here."""
    _check_admin(request)
    services = request.app.state.services
    name = request.path_params["name"]
    try:
        await unpublish(PublishedApiStore(services.engine), name, services.policies.apis)
    except PolicyError as exc:
        raise ResourceNotFoundError(" | ".join(exc.problems), path=name) from None
    if services.pipeline is not None:
        await services.pipeline.published.sync()
    return Response(status_code=204)


async def list_apis(request: Request) -> Response:
    _check_admin(request)
    runtime = request.app.state.services.pipeline
    apis = runtime.published.apis if runtime is not None else {}
    return JSONResponse(
        {
            "apis": [
                {"name": a.name, "base_path": a.base_path, "operations": sorted(a.operations)} for a in apis.values()
            ]
        }
    )


def admin_routes() -> list[BaseRoute]:
    return [
        Route("/admin/apis", list_apis, methods=["GET"]),
        Route("/admin/apis/{name}", put_api, methods=["PUT"]),
        Route("/admin/apis/{name}", delete_api, methods=["DELETE"]),
    ]
