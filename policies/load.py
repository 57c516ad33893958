"""Read policy YAML strictly: duplicate keys refused, every problem located by file, line, path.

Only plain data is built (a ``SafeLoader``: no tags that construct objects). Anchors and aliases
are allowed, but a document whose aliases expand past ``MAX_NODES`` nodes (a "billion laughs"
bomb: each copy costs nothing to parse and everything to walk), that refers to itself, or that
nests deeper than ``MAX_DEPTH`` is refused before anything is built from it.

``read_yaml`` returns plain data plus a ``Located`` index so that a schema error at
``operations.getBalances.permisions`` can be reported as
``apis/accounts.yaml:12: operations.getBalances: unknown key 'permisions'``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from policies.errors import PolicyError

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
MAX_NODES = 1_000_000  # nodes of a document with every alias expanded (the UK OB v4 document: about 20,000)
MAX_DEPTH = 100  # nesting of mappings and sequences (the UK OB v4 document: 33)


class _LineMap(dict[str, Any]):
    """A mapping that remembers the line (1-based) each key was written on."""

    lines: dict[str, int]


class _StrictLoader(yaml.SafeLoader):
    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse(node: yaml.Node, problem: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that expands past ``MAX_NODES``, refers to itself or nests past ``MAX_DEPTH``.

    Walked without recursion, each node once (a node an alias shares is counted once per use)."""
    sizes: dict[int, int] = {}  # id(node) -> nodes it expands to
    open_: set[int] = set()  # nodes whose children are being walked: meeting one again is a cycle
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, walked = stack.pop()
        if walked:
            open_.discard(id(node))
            size = sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > MAX_NODES:
                raise _refuse(node, f"its aliases expand to more than {MAX_NODES:,} nodes")
            continue
        if id(node) in sizes:
            continue
        if depth > MAX_DEPTH:
            raise _refuse(node, f"nested deeper than {MAX_DEPTH} levels")
        open_.add(id(node))
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) in open_:
                raise _refuse(child, "an alias refers to a node that contains it")
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> _LineMap:
    loader.flatten_mapping(node)
    result = _LineMap()
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True, slots=True)
class Located:
    """A loaded document and the file it came from, able to say where a path was written."""

    file: str
    data: Any

    def line_of(self, path: Iterable[str | int]) -> int | None:
        node, line = self.data, None
        for part in path:
            if isinstance(node, _LineMap) and isinstance(part, str) and part in node:
                line = node.lines.get(part, line)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                break
        return line

    def where(self, path: Iterable[str | int]) -> str:
        parts = list(path)
        line = self.line_of(parts)
        dotted = ".".join(f"[{p}]" if isinstance(p, int) else p for p in parts).replace(".[", "[")
        return f"{self.file}{f':{line}' if line else ''}: {dotted or '(top)'}"


def read_yaml(path: Path, display: str | None = None) -> Located:
    """Load one YAML file strictly. Raises ``PolicyError`` naming the file and line."""
    display = display or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError([f"{display}: file not found"]) from None
    except UnicodeDecodeError:
        raise PolicyError([f"{display}: not UTF-8 text"]) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise PolicyError([f"{display}{line}: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([f"{display}: not valid YAML ({exc})"]) from None
    except RecursionError:  # the parser is recursive: a document nested a few hundred levels deep
        raise PolicyError([f"{display}: nested deeper than {MAX_DEPTH} levels"]) from None
    return Located(display, data)


@cache
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMA_DIR / schema_name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(doc: Located, schema_name: str) -> list[str]:
    """Every schema problem in ``doc``, each as ``file:line: path: message``."""
    problems = []
    for error in sorted(_validator(schema_name).iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            schema = error.schema if isinstance(error.schema, Mapping) else {}
            allowed = set(schema.get("properties", {}))
            extra = sorted(k for k in error.instance if k not in allowed)
            message = "unknown key " + ", ".join(repr(k) for k in extra)
            if extra:
                path = [*path, extra[0]]
        problems.append(f"{doc.where(path)}: {message}")
    return problems


def plain(data: Any) -> Any:
    """Strip line bookkeeping: plain dicts and lists all the way down."""
    if isinstance(data, dict):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data
