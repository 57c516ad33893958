"""deploy/compose.yaml and deploy/nginx: least privilege, and nginx's body caps equal to the gateway's.

No Docker engine runs here, so the compose file is read as YAML (``test_deploy_tools.py`` runs
``docker-compose config`` on it when installed); the running nginx is tested in
``tests/integration/ops/test_nginx_routes.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.body_limit import ADMIN_APIS_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, LARGER_BODIES

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
TLS_CONF = (DEPLOY / "nginx" / "walletgate-tls.conf").read_text(encoding="utf-8")
OUR_CONTAINERS = ("gateway-1", "gateway-2", "gateway-3", "migrate", "nginx")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024, "g": 1024 * 1024 * 1024}


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))["services"])


def _nginx_size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * _SIZE_UNITS[unit.lower()]


def _server_block(text: str) -> str:
    return text[text.index("server {") :]


def _locations(text: str) -> dict[str, str]:
    """``location`` arguments -> body, for the (unnested) location blocks of the server."""
    return {args.strip(): body for args, body in re.findall(r"^\s*location\s+([^{]+)\{([^}]*)\}", text, re.MULTILINE)}


def _outside_locations(text: str) -> str:
    return re.sub(r"^\s*location\s+[^{]+\{[^}]*\}", "", _server_block(text), flags=re.MULTILINE)


# --- compose: capabilities ----------------------------------------------------------------------------


@pytest.mark.parametrize("service", OUR_CONTAINERS)
def test_compose_drops_every_capability_of_our_containers(service: str) -> None:
    config = _services()[service]
    assert config["cap_drop"] == ["ALL"]
    assert "cap_add" not in config, f"{service} adds capabilities back: {config.get('cap_add')}"


@pytest.mark.parametrize("service", OUR_CONTAINERS)
def test_compose_forbids_our_containers_to_gain_privileges(service: str) -> None:
    config = _services()[service]
    assert "no-new-privileges:true" in config["security_opt"]
    assert config["read_only"] is True


def test_compose_nginx_runs_as_a_non_root_user() -> None:
    uid = _services()["nginx"]["user"].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_compose_nginx_listens_where_it_needs_no_bind_capability() -> None:
    """Without NET_BIND_SERVICE an unprivileged nginx can bind only ports from 1024 up."""
    [port] = {int(p) for p in re.findall(r"^\s*listen\s+(\d+)", TLS_CONF, re.MULTILINE)}
    assert port >= 1024
    published = [str(mapping).rsplit(":", 1)[-1] for mapping in _services()["nginx"]["ports"]]
    assert published == [str(port)]


def test_compose_mounts_the_tls_folder_where_nginx_reads_it() -> None:
    tls_paths = re.findall(r"^\s*ssl_(?:certificate|certificate_key|client_certificate)\s+(\S+);", TLS_CONF, re.M)
    folders = {str(Path(path).parent) for path in tls_paths}
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in _services()["nginx"]["volumes"]}
    assert folders == {"/etc/nginx-tls"}
    assert mounts["/etc/nginx-tls"] == "./secrets/tls"


# --- nginx: body caps and routes ----------------------------------------------------------------------


def test_nginx_caps_every_call_at_the_gateways_default_body_cap() -> None:
    [cap] = re.findall(r"^\s*client_max_body_size\s+(\S+);", _outside_locations(TLS_CONF), re.MULTILINE)
    assert _nginx_size(cap) == DEFAULT_MAX_BODY_BYTES


def test_nginx_lets_the_admin_api_send_the_gateways_larger_body_cap() -> None:
    [(prefix, cap)] = LARGER_BODIES.items()
    regexes = {args.split(None, 1)[1]: body for args, body in _locations(TLS_CONF).items() if args.startswith("~ ")}
    admin = [(pattern, body) for pattern, body in regexes.items() if re.search(pattern, f"{prefix}/catalogue")]
    assert len(admin) == 1, f"no location of walletgate-tls.conf gives {prefix} a body cap of its own"
    [(pattern, body)] = admin
    assert re.search(pattern, prefix)
    assert not re.search(pattern, f"{prefix}-archive/catalogue")  # the gateway's rule: the prefix, or below it
    [size] = re.findall(r"client_max_body_size\s+(\S+);", body)
    assert _nginx_size(size) == cap == ADMIN_APIS_MAX_BODY_BYTES


def test_no_nginx_location_sets_proxy_headers_of_its_own() -> None:
    """A block with one proxy_set_header of its own inherits none of the server's (the forwarding rules)."""
    for args, body in _locations(TLS_CONF).items():
        assert "proxy_set_header" not in body, f"location {args} would drop the server's forwarding headers"
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in _outside_locations(TLS_CONF)


def test_nginx_answers_metrics_itself_instead_of_forwarding_it() -> None:
    metrics = _locations(TLS_CONF)["/metrics"]
    assert "return 404;" in metrics
    assert "proxy_pass" not in metrics
