"""Validate JSON bodies against the response schemas of an OpenAPI document (3.0 or 3.1).

OpenAPI 3.0 schema objects are a JSON Schema draft-4 dialect plus ``nullable``; 3.1 documents
are JSON Schema 2020-12. ``#/components/...`` references resolve against the loaded document.
Formats ``date-time`` and ``uri`` are checked (RFC 3339 / absolute URI).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    return True


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def _nullable_to_type(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable_to_type(v) for k, v in node.items()}
        if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable_to_type(v) for v in node]
    return node


class ResponseSchemas:
    """The response schemas of one OpenAPI document, looked up by operationId and status."""

    def __init__(self, path: Path) -> None:
        self.document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.version = str(self.document["openapi"])
        doc = copy.deepcopy(self.document)
        self._root = _nullable_to_type(doc) if self.version.startswith("3.0") else doc
        self._cls = jsonschema.Draft4Validator if self.version.startswith("3.0") else jsonschema.Draft202012Validator
        self._operations: dict[str, dict[str, Any]] = {
            op["operationId"]: op
            for item in self.document["paths"].values()
            for method, op in item.items()
            if method in ("get", "post", "put", "patch", "delete")
        }

    def operation(self, operation_id: str) -> dict[str, Any]:
        return self._operations[operation_id]

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return dict(node)

    def schema_ref(self, operation_id: str, status: str) -> str:
        response = self._deref(self.operation(operation_id)["responses"][status])
        content = response.get("content", {})
        media = next(m for m in ("application/json; charset=utf-8", "application/json") if m in content)
        schema = content[media]["schema"]
        assert "$ref" in schema, f"{operation_id} {status}: expected a $ref to a component schema"
        return str(schema["$ref"])

    def validator(self, ref: str) -> jsonschema.protocols.Validator:
        return self._cls({**self._root, "$ref": ref}, format_checker=FORMATS)

    def errors(self, operation_id: str, body: Any, status: str = "200") -> list[str]:
        return self.errors_for_ref(self.schema_ref(operation_id, status), body)

    def errors_for_ref(self, ref: str, body: Any) -> list[str]:
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
            for e in self.validator(ref).iter_errors(body)
        ]


@cache
def load(path: Path) -> ResponseSchemas:
    return ResponseSchemas(path)
