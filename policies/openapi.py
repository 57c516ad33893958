"""Compile an OpenAPI 3.0/3.1 document once: a router and jsonschema-rs validators per operation.

Nothing here runs per request except ``Router.match`` (a dictionary walk over path segments)
and the compiled validators. ``$ref``s resolve inside the document only: a reference to anything
else (``http://…``, ``file:///…``, or a relative one under a schema's ``$id``) is refused, never
fetched, so compiling a document reads no file and calls no server. OpenAPI 3.0 ``nullable``
becomes a JSON Schema type union. The FAPI headers get the checks the standard asks for
even where a document leaves them loose: ``x-fapi-interaction-id`` a UUID,
``x-fapi-customer-ip-address`` an IP address, ``x-fapi-auth-date`` an HTTP date.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import jsonschema_rs

from policies.errors import PolicyError
from policies.load import Located, plain, read_yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_JSON_TYPES = ("application/json", "application/json; charset=utf-8")
# Headers the gateway itself consumes; the document's copy of them is not enforced again.
_GATEWAY_HEADERS = frozenset({"authorization", "dpop"})


def _uuid(value: str) -> bool:
    try:
        return len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _http_date(value: str) -> bool:
    try:
        return parsedate_to_datetime(value) is not None
    except (TypeError, ValueError):
        return False


def _lenient_date_time(value: str) -> bool:
    """UK OB query dates: ISO 8601, time and zone optional (the bank ignores the zone)."""
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_PARAMETER_FORMATS: dict[str, Callable[[str], bool]] = {
    "uuid": _uuid,
    "ip": _ip,
    "http-date": _http_date,
    "date-time": _lenient_date_time,
}
_FAPI_HEADER_FORMATS = {
    "x-fapi-interaction-id": "uuid",
    "x-fapi-customer-ip-address": "ip",
    "x-fapi-auth-date": "http-date",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation failure: where (``Errors[].Path``) and what."""

    path: str
    message: str
    missing: bool = False  # a required field or parameter is absent


@dataclass(frozen=True, slots=True)
class Validator:
    """A compiled schema; ``first_problem`` returns ``None`` when the instance is valid."""

    _compiled: Any
    prefix: str = ""

    def first_problem(self, instance: Any) -> Problem | None:
        if self._compiled.is_valid(instance):
            return None
        error = next(iter(self._compiled.iter_errors(instance)))
        parts = list(error.instance_path)
        missing = getattr(error.kind, "property", None) if type(error.kind).__name__ == "Required" else None
        if isinstance(missing, str):
            parts.append(missing)
        where = self.prefix
        for part in parts:
            where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
        return Problem(where or "(body)", error.message, missing is not None)


@dataclass(frozen=True, slots=True)
class Parameters:
    """The parameters of one location (path, query or header) as one object schema."""

    validator: Validator
    types: Mapping[str, str]  # parameter name → JSON type, to convert the string it arrives as
    lower_names: Mapping[str, str] = field(default_factory=dict)  # lower-cased declared name → the name

    def problem(self, values: Mapping[str, str]) -> Problem | None:
        return self.validator.first_problem({k: _convert(v, self.types.get(k)) for k, v in values.items()})

    def case_variant(self, name: str) -> str | None:
        """The declared name that ``name`` spells in other letter cases, if any (``FromBookingDateTime``:
        ``fromBookingDateTime``). Such a name passes no check of the declared one, and a bank that reads
        names case-insensitively would take it for that one."""
        declared = self.lower_names.get(name.lower())
        return declared if declared is not None and declared != name else None


def _convert(value: str, json_type: str | None) -> Any:
    if json_type == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if json_type == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if json_type == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


@dataclass(frozen=True, slots=True)
class SpecOperation:
    """What the document says about one operation, compiled."""

    operation_id: str
    method: str  # upper case
    path_template: str
    path: Parameters
    query: Parameters
    header: Parameters
    header_names: frozenset[str]  # lower-cased headers the operation declares (validated when present)
    body: Validator | None
    body_required: bool
    responses: Mapping[int, Validator | None]  # status → body validator (None: no JSON body documented)
    default_response: Validator | None = None
    response_media: Mapping[int, frozenset[str]] = field(default_factory=dict)  # status → documented media types
    default_media: frozenset[str] = frozenset()

    def response_validator(self, status: int) -> Validator | None:
        if status in self.responses:
            return self.responses[status]
        return self.default_response

    def documents_media(self, status: int, media_type: str) -> bool:
        """Whether the document gives ``media_type`` (parameters ignored) as a body of a ``status`` answer."""
        documented = self.response_media.get(status, self.default_media)
        return media_type.split(";", 1)[0].strip().lower() in documented


@dataclass(slots=True)
class _Node:
    static: dict[str, _Node] = field(default_factory=dict)
    param: tuple[str, _Node] | None = None
    methods: dict[str, SpecOperation] | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """A routed path: its operations by method and the path parameters taken from it."""

    methods: Mapping[str, SpecOperation]
    params: dict[str, str]


class Router:
    """Method + path template → operation, as a trie over path segments (no regex per request)."""

    __slots__ = ("_root",)

    def __init__(self, operations: list[SpecOperation]) -> None:
        self._root = _Node()
        for op in operations:
            node = self._root
            for segment in _segments(op.path_template):
                if segment.startswith("{") and segment.endswith("}"):
                    name = segment[1:-1]
                    if node.param is None:
                        node.param = (name, _Node())
                    node = node.param[1]
                else:
                    node = node.static.setdefault(segment, _Node())
            if node.methods is None:
                node.methods = {}
            node.methods[op.method] = op

    def match(self, path: str) -> Match | None:
        node, params = self._root, {}
        for segment in _segments(path):
            child = node.static.get(segment)
            if child is not None:
                node = child
            elif node.param is not None and segment:
                params[node.param[0]] = segment
                node = node.param[1]
            else:
                return None
        if node.methods is None:
            return None
        return Match(node.methods, params)


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


@dataclass(frozen=True, slots=True)
class OpenApiDocument:
    """A loaded, compiled document: its operations by id and the router over them."""

    file: str
    version: str
    operations: Mapping[str, SpecOperation]
    router: Router


def load_openapi(path: Path, display: str | None = None) -> OpenApiDocument:
    """Read and compile ``path``. Raises ``PolicyError`` naming file, line and path on any problem."""
    doc = read_yaml(path, display or path.name)
    return compile_openapi(doc)


def compile_openapi(doc: Located) -> OpenApiDocument:
    data = doc.data
    if not isinstance(data, Mapping):
        raise PolicyError([f"{doc.file}: an OpenAPI document must be a mapping"])
    version = str(data.get("openapi", ""))
    if not version.startswith(("3.0.", "3.1.")):
        raise PolicyError([f"{doc.where(['openapi'])}: expected OpenAPI 3.0.x or 3.1.x, found {version!r}"])
    paths = data.get("paths")
    if not isinstance(paths, Mapping) or not paths:
        raise PolicyError([f"{doc.where(['paths'])}: the document publishes no paths"])
    compiler = _Compiler(doc, version)
    operations: dict[str, SpecOperation] = {}
    problems: list[str] = []
    for template, item, method, raw in _iter_operations(paths):
        where = ["paths", template, method]
        try:
            op = compiler.operation(template, item, method, raw)
        except _RefusedError as exc:
            problems.append(f"{doc.where([*where, *exc.path])}: {exc.message}")
            continue
        if op.operation_id in operations:
            problems.append(f"{doc.where([*where, 'operationId'])}: duplicate operationId {op.operation_id!r}")
        operations[op.operation_id] = op
    if problems:
        raise PolicyError(problems)
    return OpenApiDocument(doc.file, version, operations, Router(list(operations.values())))


def _iter_operations(paths: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], str, Mapping[str, Any]]]:
    for template, item in paths.items():
        if not isinstance(item, Mapping):
            continue
        for method in METHODS:
            raw = item.get(method)
            if isinstance(raw, Mapping):
                yield template, item, method, raw


class _RefusedError(Exception):
    def __init__(self, message: str, path: list[str | int] | None = None) -> None:
        self.message = message
        self.path = path or []
        super().__init__(message)


class _Compiler:
    """Resolves references and builds validators for one document."""

    def __init__(self, doc: Located, version: str) -> None:
        self.data = plain(doc.data)
        self.version = version
        self.components = _convert_schema(self.data.get("components", {}).get("schemas", {}), version)
        self.draft = jsonschema_rs.Draft4 if version.startswith("3.0.") else jsonschema_rs.Draft202012
        self._memo: dict[str, Validator] = {}

    def resolve(self, node: Any) -> Any:
        """Follow ``$ref`` chains to document-local objects (parameters, bodies, responses)."""
        seen = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
                raise _RefusedError(f"cannot resolve $ref {ref!r} (only local, non-circular references)")
            seen.add(ref)
            target: Any = self.data
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise _RefusedError(f"$ref {ref!r} points at nothing")
                target = target[part]
            node = target
        return node

    def validator(self, schema: Any, prefix: str = "", formats: Mapping[str, Any] | None = None) -> Validator:
        key = json.dumps([schema, prefix, sorted(formats or {})], sort_keys=True)
        if key not in self._memo:
            self._memo[key] = self._compile(schema, prefix, formats)
        return self._memo[key]

    def _compile(self, schema: Any, prefix: str, formats: Mapping[str, Any] | None) -> Validator:
        root = {"components": {"schemas": self.components}, "allOf": [_convert_schema(schema, self.version)]}
        refused: list[str] = []

        def retrieve(uri: str) -> Any:  # every resource outside the document: never read, never fetched
            refused.append(uri)
            raise ValueError(f"$ref {uri!r} is outside the document")

        try:
            compiled = jsonschema_rs.validator_for(
                root | {"$schema": _SCHEMA_URIS[self.draft]},
                validate_formats=True,
                formats=dict(formats or {}),
                retriever=retrieve,
            )
        except (jsonschema_rs.ValidationError, ValueError, jsonschema_rs.ReferencingError) as exc:
            if refused:
                raise _RefusedError(
                    f"cannot resolve $ref {refused[0]!r} (only references inside the document, '#/...')"
                ) from None
            raise _RefusedError(f"schema does not compile: {exc}") from None
        return Validator(compiled, prefix)

    def operation(self, template: str, item: Mapping[str, Any], method: str, raw: Mapping[str, Any]) -> SpecOperation:
        op_id = raw.get("operationId")
        if not isinstance(op_id, str) or not op_id:
            raise _RefusedError("every operation needs an operationId", ["operationId"])
        params = [self.resolve(p) for p in [*item.get("parameters", []), *raw.get("parameters", [])]]
        by_location: dict[str, dict[str, Mapping[str, Any]]] = {"path": {}, "query": {}, "header": {}}
        for index, p in enumerate(params):
            location, name = p.get("in"), p.get("name")
            if location == "cookie":
                continue
            if location not in by_location or not isinstance(name, str):
                raise _RefusedError("a parameter needs 'in' (path, query, header) and 'name'", ["parameters", index])
            key = name.lower() if location == "header" else name
            if location == "header" and key in _GATEWAY_HEADERS:
                continue
            by_location[location][key] = p
        for name in _template_names(template):
            if name not in by_location["path"]:
                raise _RefusedError(f"path parameter {name!r} is not declared", ["parameters"])
        body, body_required = self._body(raw)
        responses = {
            int(code): self._response_schema(response)
            for code, response in raw.get("responses", {}).items()
            if str(code).isdigit()
        }
        default = raw.get("responses", {}).get("default")
        media = {
            int(code): self._media_types(response)
            for code, response in raw.get("responses", {}).items()
            if str(code).isdigit()
        }
        return SpecOperation(
            operation_id=op_id,
            method=method.upper(),
            path_template=template,
            path=self._parameters(by_location["path"], "path"),
            query=self._parameters(by_location["query"], "query"),
            header=self._parameters(by_location["header"], "header"),
            header_names=frozenset(by_location["header"]),
            body=body,
            body_required=body_required,
            responses=responses,
            default_response=self._response_schema(default) if default is not None else None,
            response_media=media,
            default_media=self._media_types(default) if default is not None else frozenset(),
        )

    def _parameters(self, params: Mapping[str, Mapping[str, Any]], location: str) -> Parameters:
        properties: dict[str, Any] = {}
        types: dict[str, str] = {}
        required = []
        for name, p in params.items():
            schema = dict(self.resolve(p.get("schema", {})))
            if location == "header" and name in _FAPI_HEADER_FORMATS:
                schema = {"allOf": [schema, {"type": "string", "format": _FAPI_HEADER_FORMATS[name]}]}
            properties[name] = schema
            if isinstance(schema.get("type"), str):
                types[name] = schema["type"]
            if p.get("required") or location == "path":
                required.append(name)
        for name, fmt in _FAPI_HEADER_FORMATS.items():
            if location == "header" and name not in properties:
                properties[name] = {"type": "string", "format": fmt}
        combined: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            combined["required"] = required
        return Parameters(self.validator(combined, formats=_PARAMETER_FORMATS), types, {n.lower(): n for n in params})

    def _body(self, raw: Mapping[str, Any]) -> tuple[Validator | None, bool]:
        request_body = raw.get("requestBody")
        if request_body is None:
            return None, False
        request_body = self.resolve(request_body)
        schema = _json_schema(request_body.get("content", {}))
        if schema is None:
            return None, bool(request_body.get("required"))
        return self.validator(schema), bool(request_body.get("required"))

    def _media_types(self, response: Any) -> frozenset[str]:
        resolved = self.resolve(response)
        content = resolved.get("content", {}) if isinstance(resolved, Mapping) else {}
        if not isinstance(content, Mapping):
            return frozenset()
        return frozenset(str(media).split(";", 1)[0].strip().lower() for media in content)

    def _response_schema(self, response: Any) -> Validator | None:
        resolved = self.resolve(response)
        schema = _json_schema(resolved.get("content", {})) if isinstance(resolved, Mapping) else None
        return None if schema is None else self.validator(schema)


def _json_schema(content: Mapping[str, Any]) -> Any:
    for media in _JSON_TYPES:
        if media in content and isinstance(content[media], Mapping) and "schema" in content[media]:
            return content[media]["schema"]
    for media, entry in content.items():
        if media.split(";")[0].strip().endswith("json") and isinstance(entry, Mapping) and "schema" in entry:
            return entry["schema"]
    return None


def _template_names(template: str) -> list[str]:
    return [s[1:-1] for s in _segments(template) if s.startswith("{") and s.endswith("}")]


_SCHEMA_URIS = {
    jsonschema_rs.Draft4: "http://json-schema.org/draft-04/schema#",
    jsonschema_rs.Draft202012: "https://json-schema.org/draft/2020-12/schema",
}


def _convert_schema(node: Any, version: str) -> Any:
    """OpenAPI 3.0 → JSON Schema: ``nullable: true`` becomes a type union (other keys are kept)."""
    if isinstance(node, list):
        return [_convert_schema(v, version) for v in node]
    if not isinstance(node, Mapping):
        return node
    result = {k: _convert_schema(v, version) for k, v in node.items()}
    if version.startswith("3.0.") and result.get("nullable") is True:
        del result["nullable"]
        if isinstance(result.get("type"), str):
            result["type"] = [result["type"], "null"]
        if isinstance(result.get("enum"), list) and None not in result["enum"]:
            result["enum"] = [*result["enum"], None]
    return result
