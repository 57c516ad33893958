"""Documents a bank admin uploads are untrusted input: they are refused, never followed or expanded."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from policies.errors import PolicyError
from policies.load import MAX_DEPTH, read_yaml
from policies.openapi import load_openapi

DOCUMENT = """\
openapi: {version}
info: {{title: Refs, version: "1"}}
paths:
  /products:
    get:
      operationId: GetProducts
      responses:
        "200":
          description: the products
          content:
            application/json:
              schema: {schema}
"""


def _document(tmp_path: Path, schema: str, version: str = "3.1.0") -> Path:
    path = tmp_path / "openapi.yaml"
    path.write_text(DOCUMENT.format(version=version, schema=schema), encoding="utf-8")
    return path


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers every GET with a schema, and records the paths asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", asked
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_openapi_remote_ref_is_refused_and_never_fetched(tmp_path: Path, server: tuple[str, list[str]]) -> None:
    url, asked = server
    with pytest.raises(PolicyError) as info:
        load_openapi(_document(tmp_path, f'{{$ref: "{url}/schema.json"}}'))
    assert f"cannot resolve $ref '{url}/schema.json'" in str(info.value)
    assert "openapi.yaml:5: paths./products.get" in str(info.value)
    assert asked == []


def test_openapi_file_ref_is_refused_and_the_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"type": "integer"}', encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_openapi(_document(tmp_path, f'{{$ref: "{secret.as_uri()}"}}'))
    assert f"cannot resolve $ref '{secret.as_uri()}'" in str(info.value)


def test_openapi_relative_ref_under_a_remote_id_is_refused_and_never_fetched(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    url, asked = server
    with pytest.raises(PolicyError) as info:
        load_openapi(_document(tmp_path, f'{{$id: "{url}/base/", allOf: [{{$ref: "other.json"}}]}}'))
    assert "cannot resolve $ref" in str(info.value)
    assert asked == []


def test_openapi_local_recursive_schema_still_compiles(tmp_path: Path) -> None:
    path = _document(tmp_path, '{$ref: "#/components/schemas/Tree"}')
    path.write_text(
        path.read_text(encoding="utf-8")
        + "components:\n  schemas:\n    Tree:\n      type: object\n"
        + "      properties: {children: {type: array, items: {$ref: '#/components/schemas/Tree'}}}\n",
        encoding="utf-8",
    )
    validator = load_openapi(path).operations["GetProducts"].responses[200]
    assert validator is not None
    assert validator.first_problem({"children": [{"children": []}]}) is None
    assert validator.first_problem({"children": [{"children": 1}]}) is not None


def _bomb(levels: int) -> str:
    """Each level holds nine aliases of the one before: 9**levels nodes from a few lines."""
    lines = ["x-l0: &l0 [a, a, a, a, a, a, a, a, a]"]
    lines += [f"x-l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(DOCUMENT.format(version="3.1.0", schema="{type: string}") + _bomb(7), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_openapi(path)
    assert "openapi.yaml:19: its aliases expand to more than 1,000,000 nodes" in str(info.value)


def test_yaml_aliases_that_expand_a_little_are_read(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(_bomb(3), encoding="utf-8")
    assert len(read_yaml(path).data["x-l2"]) == 9


def test_yaml_self_referring_sequence_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("name: loop\noperations: &ops [1, *ops]\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        read_yaml(path)
    assert "policy.yaml:2: an alias refers to a node that contains it" in str(info.value)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 5, 5000])
def test_yaml_nested_too_deep_is_refused_with_a_policy_error(tmp_path: Path, levels: int) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text("paths: " + "[" * levels + "]" * levels + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        read_yaml(path)
    assert f"nested deeper than {MAX_DEPTH} levels" in str(info.value)


def test_yaml_tags_that_construct_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("name: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        read_yaml(path)
    assert "policy.yaml:1:" in str(info.value)
