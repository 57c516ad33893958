"""A real gateway process: a wallet with its own keys registers with a statement from
``walletgate directory issue-ssa``, and a demo user logs in through the built-in login page."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from consent.db import open_engine
from gateway.oauth.keys import generate_jwk
from gateway.oauth.users import UserStore
from tests.support.servers import ROOT, ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _start(tmp_path: Path, **extra: str) -> tuple[ServerProcess, dict[str, str]]:
    port = free_port()
    env = {
        "WALLETGATE_MODE": "demo",
        "WALLETGATE_DATA_DIR": str(tmp_path / "data"),
        "WALLETGATE_PORT": str(port),
        "WALLETGATE_LOG_LEVEL": "warning",
        **extra,
    }
    _cli(env, "migrate")
    server = ServerProcess([sys.executable, "-m", "gateway.cli", "serve"], f"http://127.0.0.1:{port}", env=env)
    return server.start(), env


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {
        "WALLETGATE_MODE": "demo",
        "WALLETGATE_DATA_DIR": str(tmp_path / "data"),
        "WALLETGATE_PORT": str(port),
        "WALLETGATE_LOG_LEVEL": "warning",
    }
    _cli(env, "migrate")
    database = f"sqlite:///{(tmp_path / 'data' / 'walletgate.db').resolve()}"

    async def seed() -> None:
        engine = open_engine(database)
        try:
            await UserStore(engine).create_user("alice", "alice-demo", "Alice Adams")
        finally:
            await engine.dispose()

    asyncio.run(seed())
    server = ServerProcess(
        [sys.executable, "-m", "gateway.cli", "serve"],
        f"http://127.0.0.1:{port}",
        env=env,
    ).start()
    yield server.url, env
    server.stop()


async def test_wallet_with_its_own_keys_registers_with_an_issued_statement(gateway, tmp_path):
    url, env = gateway
    wallet_keys = tmp_path / "wallet.jwks.json"
    wallet_keys.write_text(json.dumps({"keys": [generate_jwk("ES256")]}))
    out = _cli(env, "directory", "issue-ssa", "--jwks", str(wallet_keys), "--redirect-uri", "https://w.example/cb")
    statement = out.strip().splitlines()[-1]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/register", json={"software_statement": statement}) as resp:
            assert resp.status == 201, await resp.text()
            created = await resp.json()
        headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
        async with http.get(created["registration_client_uri"], headers=headers) as resp:
            assert resp.status == 200
            assert (await resp.json())["redirect_uris"] == ["https://w.example/cb"]


async def test_demo_user_logs_in_through_the_login_page(gateway):
    url, _ = gateway
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[URL(url)])
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{url}/login", params={"next": "/consents"}) as resp:
            assert resp.status == 200
            token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text())
        assert token is not None
        form = {"username": "alice", "password": "alice-demo", "csrf_token": token.group(1), "next": "/consents"}
        async with http.post(f"{url}/login", data=form, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
            assert resp.headers["Location"] == "/consents"
            assert "__Host-wg_session=" in resp.headers["Set-Cookie"]
        async with http.get(f"{url}/login", params={"next": "/consents"}, allow_redirects=False) as resp:
            assert resp.status == 303


@pytest.fixture
async def bank_login(port: int) -> AsyncIterator[dict[str, Any]]:
    """The bank's own login page: it "authenticates" alice and accepts the challenge via the admin API."""
    state: dict[str, Any] = {"url": f"http://127.0.0.1:{port}/bank-login", "gateway": "", "seen": []}

    async def page(request: web.Request) -> web.StreamResponse:
        challenge = request.query["login_challenge"]
        state["seen"].append(challenge)
        async with (
            aiohttp.ClientSession() as admin,
            admin.put(
                f"{state['gateway']}/admin/login/{challenge}/accept",
                json={"subject": "alice"},
                headers={"Authorization": "Bearer bank-admin-token"},
            ) as resp,
        ):
            assert resp.status == 200, await resp.text()
            redirect_to = (await resp.json())["redirect_to"]
        raise web.HTTPFound(redirect_to)

    app = web.Application()
    app.router.add_get("/bank-login", page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield state
    await runner.cleanup()


async def test_delegated_login_through_the_banks_page_and_the_admin_api(tmp_path, bank_login):
    server, _ = await asyncio.to_thread(
        _start, tmp_path, WALLETGATE_LOGIN_URL=bank_login["url"], WALLETGATE_ADMIN_TOKEN="bank-admin-token"
    )
    bank_login["gateway"] = server.url
    try:
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[URL(server.url)])
        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
            async with browser.get(f"{server.url}/login", params={"next": "/consents"}, allow_redirects=False) as resp:
                assert resp.status == 303
                assert resp.headers["Location"].startswith(bank_login["url"] + "?login_challenge=")
            async with browser.get(resp.headers["Location"], allow_redirects=False) as resp:
                assert resp.status == 302
                callback = resp.headers["Location"]
            async with browser.get(callback, allow_redirects=False) as resp:
                assert resp.status == 303, await resp.text()
                assert resp.headers["Location"] == "/consents"
            async with browser.get(f"{server.url}/login", params={"next": "/x"}, allow_redirects=False) as resp:
                assert resp.status == 303
                assert resp.headers["Location"] == "/x"  # logged in: no second trip to the bank
        assert len(bank_login["seen"]) == 1
    finally:
        await asyncio.to_thread(server.stop)
