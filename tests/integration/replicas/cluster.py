"""Three gateway replicas sharing PostgreSQL, Redis, keys and a data folder, behind Debian's nginx on loopback.

nginx balances round robin and names the replica that answered in ``x-replica`` (its
``$upstream_addr``), so a test can see which process served each call. Wallets reach the
cluster through nginx (the issuer URL); a test may also call one replica on its own port.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import psycopg2
from sqlalchemy.engine import make_url

from consent.migrate import upgrade
from gateway.oauth.keys import KeyRing, generate_jwk, write_private_file
from tests.e2e.pipeline.harness import ANCHOR, Stack, Wallet
from tests.support.policies import shipped_policies_copy
from tests.support.servers import ServerProcess, free_port, python_module

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

NGINX_CONF = """\
{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream walletgate {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://walletgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            add_header x-replica $upstream_addr always;
        }}
    }}
}}
"""


def _empty_schema(url: str) -> None:
    u = make_url(url)
    conn = psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    conn.close()


def nginx(folder: Path, port: int, upstreams: list[str]) -> ServerProcess:
    """nginx balancing ``upstreams`` on ``port``; its errors go to ``folder/nginx.log``. Call ``start()``."""
    assert NGINX is not None
    folder.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"        server {addr} max_fails=1 fail_timeout=10s;" for addr in upstreams)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, folder=folder, servers=servers, port=port))
    command = [NGINX, "-e", "stderr", "-p", f"{folder}/", "-c", str(conf)]
    return ServerProcess(command, f"http://127.0.0.1:{port}", log_path=folder / "nginx.log")


@dataclass
class Cluster:
    """The address wallets use (nginx), each replica, the bank and the shared database."""

    stack: Stack  # gateway_url = nginx = issuer
    replicas: list[ServerProcess]
    replica_urls: list[str]
    nginx: ServerProcess
    bank: ServerProcess

    def wallet(self, client_id: str) -> Wallet:
        return Wallet(self.stack, client_id)

    def direct(self, wallet: Wallet, index: int) -> Wallet:
        """The same wallet (same DPoP key, tokens naming the public address) calling one replica's own port."""
        clone = Wallet(self.stack, wallet.client_id)
        clone.http.close()
        clone.http = httpx.Client(base_url=self.replica_urls[index], timeout=10)
        clone._key, clone.jwk = wallet._key, wallet.jwk
        return clone

    def stop(self) -> None:
        self.nginx.stop()
        for replica in self.replicas:
            replica.stop()
        self.bank.stop()


def limits_policies(folder: Path, limits_yaml: str) -> Path:
    """A copy of the shipped policies with ``limits.yaml`` replaced."""
    target = shipped_policies_copy(folder)
    (target / "limits.yaml").write_text(limits_yaml, encoding="utf-8")
    return target


def start_cluster(
    folder: Path,
    postgres_url: str,
    redis_url: str,
    *,
    policies_dir: Path | None = None,
    own_data_folders: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Cluster:
    """``own_data_folders``: each replica gets a data folder of its own instead of the shared one."""
    _empty_schema(postgres_url)
    upgrade(postgres_url)
    keys_file = folder / "signing.jwks.json"
    write_private_file(keys_file, {"keys": [generate_jwk("ES256") | {"use_state": "current"}]})
    keys = KeyRing.load(keys_file)
    public = folder / "gateway.jwks.json"
    public.write_text(json.dumps(keys.jwks()), encoding="utf-8")
    bank_port, nginx_port = free_port(), free_port()
    ports = [free_port() for _ in range(3)]
    issuer, bank_url = f"http://127.0.0.1:{nginx_port}", f"http://127.0.0.1:{bank_port}"
    bank_args = ["--port", str(bank_port), "--issuer", issuer, "--jwks-file", str(public), "--anchor-date", ANCHOR]
    bank = ServerProcess(python_module("sandbox", *bank_args), bank_url)
    bank.start()
    replicas: list[ServerProcess] = []
    balancer = nginx(folder / "nginx", nginx_port, [f"127.0.0.1:{p}" for p in ports])
    try:
        for index, port in enumerate(ports):
            env = {
                "WALLETGATE_DATA_DIR": str(folder / (f"data-{index}" if own_data_folders else "data")),
                "WALLETGATE_DATABASE_URL": postgres_url,
                "WALLETGATE_REDIS_URL": redis_url,
                "WALLETGATE_ISSUER": issuer,
                "WALLETGATE_HOST": "127.0.0.1",
                "WALLETGATE_PORT": str(port),
                "WALLETGATE_UPSTREAM_URL": bank_url,
                "WALLETGATE_SIGNING_KEYS_FILE": str(keys_file),
                "WALLETGATE_LOG_LEVEL": "warning",
                "WALLETGATE_CONSENT_CACHE_TTL": "60",  # only the published invalidation can stop a replica in 1 s
                "WALLETGATE_AUDIT_DURABLE": "true",
                **({"WALLETGATE_POLICIES_DIR": str(policies_dir)} if policies_dir else {}),
                **(extra_env or {}),
            }
            command = [str(Path(sys.executable).with_name("walletgate")), "serve"]
            url = f"http://127.0.0.1:{port}"
            replicas.append(ServerProcess(command, url, env=env, log_path=folder / f"replica-{index}.log"))
            replicas[-1].start()
        balancer.start()
    except BaseException:
        balancer.stop()
        for replica in replicas:
            replica.stop()
        bank.stop()
        raise
    stack = Stack(issuer, bank_url, postgres_url, keys, ())
    return Cluster(stack, replicas, [f"http://127.0.0.1:{p}" for p in ports], balancer, bank)
