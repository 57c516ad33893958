"""Published APIs: which bank API the gateway serves where, and what each operation needs.

A policy file names an OpenAPI document (relative to the policy file), the bank's upstream
base URL (``${upstream_url}`` is filled in from the gateway's settings), the other bases the
bank may write its ``Links`` under (``link_bases``, see ``gateway.links``), the base path at the
gateway, and per operationId the permissions, account parameter, date window, response filter,
scopes, purposes, limits and CDR performance tier. Only listed operations are published. The
loader refuses the whole file on any problem, naming file, line and path.

``cdr_tier`` places an operation in a tier of Australia's CDR performance requirements (the NFRs'
table of thresholds) for the regulatory report. Absent, it follows from the operation: one that
names an account (``account_parameter``) reads one account and is ``low-priority``, like the
CDR's per-account reads; one that does not reads every selected account at once and is
``large-payload``, like the CDR's bulk direct debits. A policy sets it where the CDR names the
equivalent endpoint differently (Get Accounts and Get Customer are ``high-priority``, Get Bulk
Balances ``low-priority``). Calls without the customer present are reported as unattended
whatever the tier, except ``large-payload``, which the CDR applies to any call.

The ``upstream`` is an http(s) URL without credentials, query or fragment (a secret belongs in
the bank's own authentication of the gateway, the signed assertion, not in a policy file that
every admin and every instance's data folder sees). Its host may be a private or loopback
address, since banks serve their APIs inside their own network (the sandbox on loopback), but
not a link-local, unspecified or multicast address: 169.254.169.254 is a cloud's metadata
service, never a bank. A host name is not resolved here; what it may reach is the network's
egress policy's to say. ``link_bases`` take the same URL checks but the host ones. A
``base_path`` has no ``.`` or ``..`` segment: a proxy in front of the gateway would resolve them,
so the API would be served somewhere other than where it was checked to be.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from policies.errors import PolicyError
from policies.load import Located, plain, read_yaml, validate
from policies.openapi import OpenApiDocument, Router, SpecOperation, load_openapi
from policies.permissions import PermissionCatalogue

ValidationMode = Literal["enforce", "report"]
CdrTier = Literal["high-priority", "low-priority", "large-payload"]
CDR_TIERS: tuple[CdrTier, ...] = ("high-priority", "low-priority", "large-payload")
VARIABLES = frozenset({"upstream_url"})
_HTTP_URL = re.compile(r"^https?://[^/\s]+(/\S*)?$")
_VARIABLE = re.compile(r"\$\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class PermissionRule:
    """Permissions an operation needs: every code in ``all_of`` and at least one of ``any_of``."""

    all_of: frozenset[str] = frozenset()
    any_of: frozenset[str] = frozenset()

    def allows(self, granted: frozenset[str]) -> bool:
        return self.all_of <= granted and (not self.any_of or not self.any_of.isdisjoint(granted))

    def describe(self) -> str:
        parts = []
        if self.all_of:
            parts.append("all of " + ", ".join(sorted(self.all_of)))
        if self.any_of:
            parts.append("one of " + ", ".join(sorted(self.any_of)))
        return " and ".join(parts) or "no permission"


@dataclass(frozen=True, slots=True)
class Operation:
    """One published operation: the policy's rules plus the document's compiled validators."""

    operation_id: str
    permissions: PermissionRule
    account_parameter: str | None
    date_window: bool
    filter: str | None  # a response-filter kind the gateway knows (gateway.filtering.KINDS)
    scopes: frozenset[str]
    purposes: frozenset[str] | None  # None: every purpose may use it
    limits: tuple[str, ...]  # names of limit rules (policies/limits.yaml)
    spec: SpecOperation
    cdr_tier: CdrTier = "low-priority"  # CDR performance tier (explicit, or derived: see the module docstring)


@dataclass(frozen=True, slots=True)
class PublishedApi:
    name: str
    source: str  # the policy file as shown in errors
    openapi_file: Path
    document: OpenApiDocument
    upstream: str  # may hold ${upstream_url}
    base_path: str  # e.g. /open-banking/v4.0/aisp (no trailing slash)
    response_validation: ValidationMode
    operations: Mapping[str, Operation]  # by operationId
    router: Router  # over the published operations only
    description: str = ""
    link_bases: tuple[str, ...] = ()  # where else the bank's Links may point (its public address)

    def upstream_url(self, variables: Mapping[str, str]) -> str:
        return _VARIABLE.sub(lambda m: variables[m.group(1)].rstrip("/"), self.upstream).rstrip("/")


def load_api(
    path: Path, catalogue: PermissionCatalogue, display: str | None = None, *, openapi: Path | None = None
) -> PublishedApi:
    """Load one policy file and the OpenAPI document it names (or ``openapi``). Raises ``PolicyError``."""
    doc = read_yaml(path, display or path.name)
    problems = validate(doc, "api.schema.json")
    if problems:
        raise PolicyError(problems)
    data = plain(doc.data)
    problems.extend(_check_fields(doc, data))
    openapi_file = openapi.resolve() if openapi else (path.parent / data["openapi"]).resolve()
    shown = openapi.name if openapi else str(Path(doc.file).parent / data["openapi"])
    try:
        document = load_openapi(openapi_file, shown)
    except PolicyError as exc:
        raise PolicyError([f"{doc.where(['openapi'])}: the OpenAPI document is refused", *exc.problems]) from None
    operations = {}
    for op_id, raw in data["operations"].items():
        where = ["operations", op_id]
        spec = document.operations.get(op_id)
        if spec is None:
            problems.append(f"{doc.where(where)}: operationId {op_id!r} is not in {document.file}")
            continue
        problems.extend(_check_operation(doc, where, raw, spec, catalogue))
        operations[op_id] = _operation(op_id, raw, spec)
    if problems:
        raise PolicyError(problems)
    return PublishedApi(
        name=data["name"],
        source=doc.file,
        openapi_file=openapi_file,
        document=document,
        upstream=data["upstream"],
        base_path=data["base_path"].rstrip("/"),
        response_validation=data.get("response_validation", "enforce"),
        operations=operations,
        router=Router([op.spec for op in operations.values()]),
        description=data.get("description", ""),
        link_bases=tuple(base.rstrip("/") for base in data.get("link_bases", [])),
    )


def load_apis(folder: Path, catalogue: PermissionCatalogue) -> dict[str, PublishedApi]:
    """Every ``*.yaml`` policy in ``folder`` (none when the folder is absent), by API name."""
    apis: dict[str, PublishedApi] = {}
    problems: list[str] = []
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    for path in files:
        display = f"{folder.name}/{path.name}"
        try:
            api = load_api(path, catalogue, display)
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(_clashes(display, api, apis.values()))
        apis[api.name] = api
    if problems:
        raise PolicyError(problems)
    return apis


def _clashes(display: str, api: PublishedApi, others: Iterable[PublishedApi]) -> list[str]:
    problems = []
    for other in others:
        if other.name == api.name:
            problems.append(f"{display}: name {api.name!r} is already used by {other.source}")
        if other.base_path == api.base_path:
            problems.append(f"{display}: base_path {api.base_path!r} is already used by {other.source}")
    return problems


def _check_fields(doc: Located, data: Mapping[str, Any]) -> list[str]:
    problems = []
    unknown = sorted(set(_VARIABLE.findall(data["upstream"])) - VARIABLES)
    if unknown:
        problems.append(f"{doc.where(['upstream'])}: unknown variable(s) {', '.join(unknown)}; known: upstream_url")
    sample = _VARIABLE.sub("http://upstream.invalid", data["upstream"])
    problem = _url_problem(sample, data["upstream"], upstream=True)
    if problem:
        problems.append(f"{doc.where(['upstream'])}: {problem}")
    for index, base in enumerate(data.get("link_bases", [])):
        problem = _url_problem(base, base, upstream=False)
        if problem:
            problems.append(f"{doc.where(['link_bases', index])}: {problem}")
    if any(segment in (".", "..") for segment in data["base_path"].split("/")):
        problems.append(
            f"{doc.where(['base_path'])}: '.' and '..' segments are not allowed, found {data['base_path']!r}"
        )
    return problems


def _url_problem(url: str, shown: str, *, upstream: bool) -> str | None:
    """What is wrong with a bank URL (see the module docstring), or None."""
    if not _HTTP_URL.match(url):
        return f"expected an http(s) URL, found {shown!r}"
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "a URL with credentials (user:password@) is refused; the bank authenticates the gateway's assertion"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return f"a base URL has no query or fragment, found {shown!r}"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return f"the port is not a number from 1 to 65535, in {shown!r}"
    address = _address(parts.hostname or "") if upstream else None
    if address is not None and (address.is_link_local or address.is_unspecified or address.is_multicast):
        return f"{address} is a link-local, unspecified or multicast address, never a bank's upstream"
    return None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address ``host`` spells, as a resolver reads it (``2852039166``, ``0xa9.254.169.254``
    and ``::ffff:169.254.169.254`` included), or None for a name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _check_operation(
    doc: Located, where: list[str | int], raw: Mapping[str, Any], spec: SpecOperation, catalogue: PermissionCatalogue
) -> list[str]:
    problems = []
    for key in ("all_of", "any_of"):
        for index, code in enumerate(raw["permissions"].get(key, [])):
            if code not in catalogue.permissions:
                problems.append(f"{doc.where([*where, 'permissions', key, index])}: unknown permission {code!r}")
    account = raw.get("account_parameter")
    if account is not None and "{" + account + "}" not in spec.path_template:
        problems.append(
            f"{doc.where([*where, 'account_parameter'])}: {account!r} is not a path parameter of {spec.path_template}"
        )
    return problems


def _operation(op_id: str, raw: Mapping[str, Any], spec: SpecOperation) -> Operation:
    purposes = raw.get("purposes")
    return Operation(
        operation_id=op_id,
        permissions=PermissionRule(
            frozenset(raw["permissions"].get("all_of", [])), frozenset(raw["permissions"].get("any_of", []))
        ),
        account_parameter=raw.get("account_parameter"),
        date_window=bool(raw.get("date_window", False)),
        filter=raw.get("filter"),
        scopes=frozenset(raw.get("scopes", [])),
        purposes=None if purposes is None else frozenset(purposes),
        limits=tuple(raw.get("limits", [])),
        spec=spec,
        cdr_tier=raw.get("cdr_tier") or default_cdr_tier(raw.get("account_parameter")),
    )


def default_cdr_tier(account_parameter: str | None) -> CdrTier:
    """An operation on one account is ``low-priority``; a bulk read of every selected account is ``large-payload``."""
    return "low-priority" if account_parameter else "large-payload"
