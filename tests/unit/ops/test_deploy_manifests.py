"""deploy/: Kubernetes manifests against the Kubernetes JSON schemas, and the files' cross-references.

The schemas come from the ``kubernetes-validate`` package (PyPI), which ships the published
Kubernetes OpenAPI schemas converted to JSON Schema for every minor version; ``strict`` refuses
unknown fields. Each manifest is checked against the oldest version we support and the newest
the package knows.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OLDEST_KUBERNETES = "1.30.0"
KUBERNETES_VERSIONS = (OLDEST_KUBERNETES, kubernetes_validate.latest_version())
SETTING_NAMES = {"WALLETGATE_" + f.name.upper() for f in dataclasses.fields(Settings)}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _manifests() -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for index, doc in enumerate(_docs(path)):
            if doc["apiVersion"].startswith("kustomize.config.k8s.io/"):
                continue
            found.append((path.name, index, doc))
    return found


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [d for _, _, d in _manifests() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def test_every_expected_kind_is_there() -> None:
    kinds = {doc["kind"] for _, _, doc in _manifests()}
    assert kinds >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "Secret",
        "Job",
        "NetworkPolicy",
        "ServiceAccount",
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("file", "index", "doc"), _manifests(), ids=lambda v: v if isinstance(v, str) else "")
def test_manifest_validates_against_the_kubernetes_schema(
    file: str, index: int, doc: dict[str, Any], version: str
) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_refuses_an_unknown_field() -> None:
    deployment = yaml.safe_load((K8S / "deployment.yaml").read_text())
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(deployment, OLDEST_KUBERNETES, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_generated_configmaps_match_the_repository_files() -> None:
    spec = importlib.util.spec_from_file_location("deploy_k8s_render", K8S / "render.py")
    assert spec is not None
    assert spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    assert render.main(["--check"]) == 0, "run: python deploy/k8s/render.py"


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_every_policy_file_is_mounted_at_its_path(kind: str) -> None:
    configmap = _one("ConfigMap", "walletgate-policies")
    volumes = {v["name"]: v for v in _one(kind)["spec"]["template"]["spec"]["volumes"]}
    items = volumes["policies"]["configMap"]["items"]
    assert {item["key"] for item in items} == set(configmap["data"])
    assert all(item["path"] == item["key"].replace("--", "/") for item in items)
    settings = _one("ConfigMap", "walletgate-settings")["data"]
    assert settings["WALLETGATE_POLICIES_DIR"] == "/etc/walletgate/policies"


def _containers(kind: str) -> list[dict[str, Any]]:
    return list(_one(kind)["spec"]["template"]["spec"]["containers"])


def test_gateway_probes_use_readyz_and_healthz() -> None:
    gateway = next(c for c in _containers("Deployment") if c["name"] == "gateway")
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["startupProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_every_container_is_limited_non_root_and_read_only(kind: str) -> None:
    pod = _one(kind)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        assert set(container["resources"]) == {"requests", "limits"}, container["name"]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"]["drop"] == ["ALL"], container["name"]


def _image_environment() -> dict[str, str]:
    env: dict[str, str] = {}
    for op, args in _instructions():
        if op == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return env


def _effective_environment(kind: str, container: dict[str, Any]) -> dict[str, str]:
    """What a walletgate container sees: the image's ENV, then envFrom ConfigMaps, then env."""
    env = _image_environment()
    for source in container.get("envFrom", []):
        env.update(_one("ConfigMap", source["configMapRef"]["name"])["data"])
    env.update({e["name"]: e.get("value", "<from a Secret>") for e in container.get("env", [])})
    return env


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_walletgate_containers_get_what_production_mode_requires(kind: str) -> None:
    container = _containers(kind)[0]
    env = _effective_environment(kind, container)
    assert env["WALLETGATE_MODE"] == "production"
    assert env["WALLETGATE_ISSUER"].startswith("https://")
    assert env["WALLETGATE_DATABASE_URL"] == "<from a Secret>"
    assert env["WALLETGATE_REDIS_URL"] == "<from a Secret>"
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    for name in ("WALLETGATE_POLICIES_DIR", "WALLETGATE_SIGNING_KEYS_FILE", "WALLETGATE_DIRECTORY_JWKS_FILE"):
        assert any(env[name].startswith(mount + "/") for mount in mounts), f"{kind}: {name}={env[name]} is not mounted"
    assert any(env["WALLETGATE_DATA_DIR"].startswith(mount + "/") for mount in mounts), "DATA_DIR must be writable"


def _nested(inner: str, outer: str) -> bool:
    return inner != outer and inner.startswith(outer.rstrip("/") + "/")


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_no_volume_is_mounted_inside_another_mount_of_the_same_container(kind: str) -> None:
    """A mount point inside a read-only mount (a Secret inside a ConfigMap) fails on some container runtimes."""
    for container in _containers(kind):
        paths = [m["mountPath"] for m in container["volumeMounts"]]
        nested = [(inner, outer) for inner in paths for outer in paths if _nested(inner, outer)]
        assert nested == [], f"{kind} {container['name']}: mount inside a mount {nested}"


def test_nginx_reads_each_tls_file_from_the_tls_secret_mount() -> None:
    """Every certificate, key and CA path in walletgate-tls.conf is an item of the mounted TLS Secret."""
    proxy = next(c for c in _containers("Deployment") if c["name"] == "tls-proxy")
    volumes = {v["name"]: v for v in _one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    mounted: dict[str, str] = {}
    for mount in proxy["volumeMounts"]:
        secret = volumes[mount["name"]].get("secret")
        if secret is not None:
            mounted.update({f"{mount['mountPath']}/{item['path']}": secret["secretName"] for item in secret["items"]})
    config = _one("ConfigMap", "walletgate-nginx")["data"]["walletgate-tls.conf"]
    paths = re.findall(r"^\s*ssl_(?:certificate|certificate_key|client_certificate)\s+(\S+);", config, re.MULTILINE)
    assert len(paths) == 3
    assert {path: mounted.get(path) for path in paths} == dict.fromkeys(paths, "walletgate-keys")


def test_termination_grace_outlasts_the_drain() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    grace = float(_one("ConfigMap", "walletgate-settings")["data"]["WALLETGATE_SHUTDOWN_GRACE"])
    readiness = next(c for c in pod["containers"] if c["name"] == "gateway")["readinessProbe"]
    assert grace > readiness["periodSeconds"] * readiness["failureThreshold"]
    assert pod["terminationGracePeriodSeconds"] >= grace + 30


def test_settings_in_manifests_are_real_settings() -> None:
    configmap = set(_one("ConfigMap", "walletgate-settings")["data"])
    env = {e["name"] for kind in ("Deployment", "Job") for c in _containers(kind) for e in c.get("env", [])}
    assert configmap | env <= SETTING_NAMES


def test_secrets_hold_only_marked_placeholders() -> None:
    for _, _, doc in _manifests():
        if doc["kind"] == "Secret":
            assert "data" not in doc
            for key, value in doc["stringData"].items():
                assert "REPLACE-ME" in value, f"{doc['metadata']['name']}.{key} is not a marked placeholder"


def test_hpa_and_pdb_keep_at_least_two_pods() -> None:
    hpa, pdb = _one("HorizontalPodAutoscaler"), _one("PodDisruptionBudget")
    assert hpa["spec"]["scaleTargetRef"]["name"] == _one("Deployment")["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["minAvailable"] >= 2


# --- Dockerfile -------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_is_multi_stage_on_python_slim() -> None:
    bases = [args.split()[0] for op, args in _instructions() if op == "FROM"]
    assert bases == ["python:3.11-slim", "python:3.11-slim"]


def test_dockerfile_runs_as_a_numeric_non_root_user_with_a_healthcheck() -> None:
    instructions = _instructions()
    user = [args for op, args in instructions if op == "USER"][-1]
    assert int(user.split(":")[0]) >= 1000
    healthcheck = next(args for op, args in instructions if op == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert next(args for op, args in instructions if op == "ENTRYPOINT") == '["walletgate"]'
    assert next(args for op, args in instructions if op == "CMD") == '["serve"]'


def test_dockerfile_copies_only_existing_paths_the_context_lets_through() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    for op, args in _instructions():
        if op != "COPY" or "--from=" in args:
            continue
        source = args.split()[-2]
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert source.rstrip("/") in allowed, f"COPY {source}: excluded by Dockerfile.dockerignore"


# --- compose, nginx, collector -------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def test_compose_runs_three_identical_gateways_behind_nginx() -> None:
    services = _compose()["services"]
    gateways = sorted(name for name in services if name.startswith("gateway-"))
    assert gateways == ["gateway-1", "gateway-2", "gateway-3"]
    assert services["gateway-1"] == services["gateway-2"] == services["gateway-3"]
    upstream = re.findall(r"server (gateway-\d+):8000", (DEPLOY / "nginx" / "nginx.conf").read_text())
    assert upstream == gateways
    assert {"postgres", "redis", "otel-collector", "migrate", "nginx"} <= set(services)


def test_compose_gateways_start_after_the_migration_and_trust_only_nginx() -> None:
    services = _compose()["services"]
    gateway = services["gateway-1"]
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["migrate"]
    assert gateway["read_only"] is True
    assert gateway["user"] == "10001:10001"
    nginx_address = services["nginx"]["networks"]["backend"]["ipv4_address"]
    assert gateway["environment"]["WALLETGATE_TRUSTED_PROXIES"] == nginx_address
    assert set(gateway["environment"]) <= SETTING_NAMES


def test_nginx_forwards_the_certificate_in_the_header_the_gateway_reads() -> None:
    tls = (DEPLOY / "nginx" / "walletgate-tls.conf").read_text()
    header = Settings().client_cert_header
    assert re.search(rf"proxy_set_header {re.escape(header)} \$walletgate_client_cert;", tls, re.IGNORECASE)
    assert "ssl_verify_client optional;" in tls
    assert "SUCCESS $ssl_client_escaped_cert;" in tls


def test_collector_pipelines_use_only_defined_components() -> None:
    config = yaml.safe_load((DEPLOY / "otel" / "collector.yaml").read_text())
    for pipeline in config["service"]["pipelines"].values():
        for section in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(section, [])) <= set(config[section]), section
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert _compose()["services"]["gateway-1"]["environment"]["WALLETGATE_OTLP_ENDPOINT"].endswith(":4318")
