"""The live set of published APIs, and publishing more without a restart.

The shipped policy set (``policies/apis/*.yaml``) is the base. Published APIs live in an
overlay folder, ``DATA_DIR/published-apis/<name>`` (a symlink, replaced atomically, to a
folder holding ``policy.yaml`` and ``openapi.yaml``). Every instance polls the overlay once a
second and swaps in the new set whole; a set that fails to load is refused whole and the
live one stays live. ``walletgate apis publish`` and ``PUT /admin/apis/{name}`` write the
overlay after checking the files exactly as the poller will load them.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.background import stop_task
from gateway.errors import FieldMissingError, GatewayError, InvalidTokenError, ResourceNotFoundError
from gateway.filtering import KINDS
from gateway.settings import Settings
from policies.apis import PublishedApi, load_api
from policies.errors import PolicyError
from policies.load import read_yaml
from policies.permissions import PermissionCatalogue

log = logging.getLogger("walletgate.publishing")

OVERLAY = "published-apis"
_VERSIONS = ".versions"


def overlay_dir(settings: Settings) -> Path:
    return settings.data_dir / OVERLAY


def check_api(openapi: Path, policy: Path, catalogue: PermissionCatalogue) -> PublishedApi:
    """Load ``policy`` against ``openapi`` exactly as publishing would. Raises ``PolicyError``."""
    api = load_api(policy, catalogue, policy.name, openapi=openapi)
    if _unknown_filters(api):
        doc = read_yaml(policy, policy.name)
        raise PolicyError(_unknown_filters(api, doc.where))
    return api


def _unknown_filters(api: PublishedApi, where: Callable[[list[str | int]], str] | None = None) -> list[str]:
    known = ", ".join(sorted(KINDS))
    locate = where or (lambda path: f"{api.source}: " + ".".join(map(str, path)))
    return [
        f"{locate(['operations', op.operation_id, 'filter'])}: unknown filter {op.filter!r}; known: {known}"
        for op in api.operations.values()
        if op.filter is not None and op.filter not in KINDS
    ]


def publish_files(
    settings: Settings,
    openapi: Path,
    policy: Path,
    catalogue: PermissionCatalogue,
    shipped: Mapping[str, PublishedApi],
) -> PublishedApi:
    """Check, then atomically place the pair in the overlay. Raises ``PolicyError`` and changes nothing."""
    api = check_api(openapi, policy, catalogue)
    root = overlay_dir(settings)
    current = load_overlay(root, catalogue, shipped)
    others = {name: other for name, other in {**shipped, **current}.items() if name != api.name}
    clash = [o.source for o in others.values() if o.base_path == api.base_path]
    if clash:
        raise PolicyError([f"{policy.name}: base_path {api.base_path!r} is already used by {clash[0]}"])
    version = root / _VERSIONS / f"{api.name}-{time.time_ns()}-{uuid.uuid4().hex[:6]}"
    version.mkdir(parents=True)
    shutil.copyfile(policy, version / "policy.yaml")
    shutil.copyfile(openapi, version / "openapi.yaml")
    link = root / f".{api.name}.{uuid.uuid4().hex}.tmp"
    link.symlink_to(version.relative_to(root), target_is_directory=True)
    os.replace(link, root / api.name)
    return api


def publish_texts(
    settings: Settings,
    name: str,
    policy_text: str,
    openapi_text: str,
    catalogue: PermissionCatalogue,
    shipped: Mapping[str, PublishedApi],
) -> PublishedApi:
    """The admin API's way in: the two documents as text, checked like files."""
    with tempfile.TemporaryDirectory() as tmp:
        policy, openapi = Path(tmp) / "policy.yaml", Path(tmp) / "openapi.yaml"
        policy.write_text(policy_text, encoding="utf-8")
        openapi.write_text(openapi_text, encoding="utf-8")
        api = check_api(openapi, policy, catalogue)
        if api.name != name:
            raise PolicyError([f"policy.yaml: name: {api.name!r} does not match the API name {name!r} in the URL"])
        return publish_files(settings, openapi, policy, catalogue, shipped)


def load_overlay(
    root: Path, catalogue: PermissionCatalogue, shipped: Mapping[str, PublishedApi]
) -> dict[str, PublishedApi]:
    """Every API in the overlay, by name. Raises ``PolicyError`` naming each problem."""
    apis: dict[str, PublishedApi] = {}
    problems: list[str] = []
    for entry in _entries(root):
        try:
            api = load_api(
                entry / "policy.yaml", catalogue, f"{OVERLAY}/{entry.name}/policy.yaml", openapi=entry / "openapi.yaml"
            )
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        if api.name != entry.name:
            problems.append(f"{OVERLAY}/{entry.name}/policy.yaml: name {api.name!r} does not match its folder")
        apis[api.name] = api
    if problems:
        raise PolicyError(problems)
    return apis


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
        poll_interval: float = 1.0,
    ) -> None:
        self._settings, self._shipped, self._catalogue = settings, dict(shipped), catalogue
        self._root = overlay_dir(settings)
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
        """Load the overlay now; True when the live set changed. A bad set is logged and refused."""
        fingerprint = _fingerprint(self._root)
        if fingerprint == self._fingerprint:
            return False
        try:
            overlay = load_overlay(self._root, self._catalogue, self._shipped)
            combined = {**self._shipped, **overlay}
            check_live_set(combined)
        except PolicyError as exc:
            log.error("published APIs not reloaded; the live set stays live:\n%s", exc)
            self._fingerprint = fingerprint
            return False
        self._fingerprint = fingerprint
        self._install(combined)
        log.info("published APIs now: %s", ", ".join(sorted(combined)))
        return True

    async def start(self) -> None:
        self.reload()
        if self._task is None:
            self._task = asyncio.create_task(self._poll(), name="published-apis")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await asyncio.to_thread(self.reload)
            except Exception:
                log.exception("polling the published APIs failed")

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
    settings = _check_admin(request)
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
    try:
        api = await asyncio.to_thread(
            publish_texts,
            settings,
            name,
            str(texts[0]),
            str(texts[1]),
            services.policies.permissions,
            services.policies.apis,
        )
    except PolicyError as exc:
        raise GatewayError("The API is refused: " + " | ".join(exc.problems), path=name) from None
    runtime = services.pipeline
    if runtime is not None:
        await asyncio.to_thread(runtime.published.reload)
    return JSONResponse(
        {"name": api.name, "base_path": api.base_path, "operations": sorted(api.operations)}, status_code=200
    )


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
    ]
