"""The settings deploy/ ships pass production mode's start-up checks, except the marked placeholders.

Each test builds the environment one walletgate container would see (the image's ENV, then the
compose file or the Kubernetes ConfigMap and Secret), points the key files and policies at real
files on this machine, and loads it with ``load_settings`` exactly as ``walletgate serve`` and
``walletgate migrate`` do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
STRONG = {
    "WALLETGATE_ADMIN_TOKEN": "3b1f9a0c7d2e4f6a8b5c1d0e9f7a2b4c6d8e0f1a",
    "WALLETGATE_METRICS_TOKEN": "a7c2e9f1b3d5a8c0e2f4b6d9a1c3e5f7b0d2e4a6",
}


def _local_files(tmp_path: Path) -> dict[str, str]:
    """This machine's stand-ins for what the containers mount: key files (private) and the policies."""
    keys = tmp_path / "signing.jwks.json"
    keys.write_text(json.dumps({"keys": []}), encoding="utf-8")
    keys.chmod(0o600)
    directory = tmp_path / "directory.jwks.json"
    directory.write_text(json.dumps({"keys": []}), encoding="utf-8")
    return {
        "WALLETGATE_SIGNING_KEYS_FILE": str(keys),
        "WALLETGATE_DIRECTORY_JWKS_FILE": str(directory),
        "WALLETGATE_POLICIES_DIR": str(ROOT / "policies"),
    }


def _problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    return caught.value.problems


def _image_environment() -> dict[str, str]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(re.findall(r"(WALLETGATE_\w+)=(\S+)", line))
    return env


# --- Kubernetes -------------------------------------------------------------------------------------


def _k8s(kind: str, name: str) -> dict[str, Any]:
    for path in K8S.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") == kind and doc["metadata"]["name"] == name:
                return dict(doc)
    raise AssertionError(f"no {kind} {name} in deploy/k8s")


def _k8s_environment(kind: str, name: str, tmp_path: Path) -> dict[str, str]:
    """What the walletgate container of ``kind``/``name`` sees, with the Secret's values as shipped."""
    container = _k8s(kind, name)["spec"]["template"]["spec"]["containers"][0]
    env = _image_environment()
    for source in container.get("envFrom", []):
        env.update(_k8s("ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        ref = item["valueFrom"]["secretKeyRef"]
        env[item["name"]] = _k8s("Secret", ref["name"])["stringData"][ref["key"]]
    return env | _local_files(tmp_path)


@pytest.mark.parametrize(("kind", "name"), [("Deployment", "walletgate"), ("Job", "walletgate-migrate")])
def test_kubernetes_settings_pass_production_mode_once_the_secret_is_filled_in(
    tmp_path: Path, kind: str, name: str
) -> None:
    env = _k8s_environment(kind, name, tmp_path)
    env.update({key: value for key, value in STRONG.items() if key in env})
    assert load_settings(environ=env).mode == "production"


def test_kubernetes_placeholder_tokens_stop_the_gateway_until_they_are_replaced(tmp_path: Path) -> None:
    problems = _problems(_k8s_environment("Deployment", "walletgate", tmp_path))
    assert [p.split(":")[0] for p in problems] == ["WALLETGATE_ADMIN_TOKEN", "WALLETGATE_METRICS_TOKEN"]
    assert all("it is a placeholder, not a random string" in p for p in problems)


# --- compose ----------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def _interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if given.get(name):
            return given[name]
        if kind == "?":
            raise AssertionError(f"compose would refuse: {rest}")
        return rest if kind == "-" else ""

    return _VARIABLE.sub(one, value)


def _dot_env(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def _compose_environment(service: str, given: dict[str, str], tmp_path: Path) -> dict[str, str]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    env = _image_environment()
    env.update({k: _interpolate(str(v), given) for k, v in compose["services"][service]["environment"].items()})
    return env | _local_files(tmp_path)


@pytest.mark.parametrize("service", ["gateway-1", "migrate"])
def test_compose_settings_pass_production_mode_with_the_tokens_left_out(tmp_path: Path, service: str) -> None:
    settings = load_settings(environ=_compose_environment(service, {"POSTGRES_PASSWORD": "pw"}, tmp_path))
    assert settings.redis_url == "redis://redis:6379/0"
    assert (settings.admin_token, settings.metrics_token) == ("", "")


def test_compose_settings_pass_production_mode_with_random_tokens(tmp_path: Path) -> None:
    given = {"POSTGRES_PASSWORD": "pw", **STRONG}
    settings = load_settings(environ=_compose_environment("gateway-1", given, tmp_path))
    assert str(settings.admin_token) == STRONG["WALLETGATE_ADMIN_TOKEN"]


def test_the_example_env_file_copied_unedited_stops_the_gateway_naming_both_tokens(tmp_path: Path) -> None:
    problems = _problems(_compose_environment("gateway-1", _dot_env(DEPLOY / ".env.example"), tmp_path))
    assert [p.split(":")[0] for p in problems] == ["WALLETGATE_ADMIN_TOKEN", "WALLETGATE_METRICS_TOKEN"]
