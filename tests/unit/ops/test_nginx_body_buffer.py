"""deploy/k8s: the nginx sidecar's scratch volume holds the request bodies nginx buffers there.

nginx writes a request body larger than its memory buffer to ``client_body_temp_path`` before it
sends it on; in the pod that path is on the ``nginx-tmp`` emptyDir, and a pod whose emptyDir passes
its ``sizeLimit`` is evicted. The volume must hold eight concurrent admin publishes at the admin
cap and a wallet body at the wallet cap (gateway/body_limit.py, which nginx's caps mirror).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gateway.body_limit import ADMIN_APIS_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES

ROOT = Path(__file__).resolve().parents[3]
DEPLOYMENT = ROOT / "deploy" / "k8s" / "deployment.yaml"
NGINX_SIDECAR_CONF = ROOT / "deploy" / "nginx" / "nginx-sidecar.conf"
CONCURRENT_ADMIN_PUBLISHES = 8
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def _bytes(quantity: str, where: str) -> int:
    """A Kubernetes quantity such as ``128Mi`` in bytes (the units a sizeLimit is written in)."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|k|M|G|)", quantity)
    assert match is not None, f"{where}: {quantity!r} is not a quantity this test reads"
    return int(match.group(1)) * _UNITS[match.group(2)]


def _pod_spec() -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(DEPLOYMENT.read_text(encoding="utf-8")) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    return dict(deployment["spec"]["template"]["spec"])


def _nginx_tmp_mount() -> str:
    mounts = [
        m["mountPath"] for c in _pod_spec()["containers"] for m in c.get("volumeMounts", []) if m["name"] == "nginx-tmp"
    ]
    assert len(mounts) == 1, f"{DEPLOYMENT.name}: the nginx-tmp volume is mounted {len(mounts)} times, not once"
    return str(mounts[0])


def test_nginx_buffers_request_bodies_on_the_nginx_tmp_volume() -> None:
    match = re.search(r"^\s*client_body_temp_path\s+(\S+?);", NGINX_SIDECAR_CONF.read_text(encoding="utf-8"), re.M)
    assert match is not None, f"{NGINX_SIDECAR_CONF.name}: no client_body_temp_path"
    assert Path(match.group(1)).is_relative_to(_nginx_tmp_mount())


def test_the_nginx_tmp_volume_holds_eight_admin_publishes_and_a_wallet_body() -> None:
    (volume,) = [v for v in _pod_spec()["volumes"] if v["name"] == "nginx-tmp"]
    size = _bytes(volume["emptyDir"]["sizeLimit"], f"{DEPLOYMENT.name}: volumes.nginx-tmp.emptyDir.sizeLimit")
    needed = CONCURRENT_ADMIN_PUBLISHES * ADMIN_APIS_MAX_BODY_BYTES + DEFAULT_MAX_BODY_BYTES
    assert size >= needed, f"nginx-tmp holds {size} bytes; buffering needs {needed}"
