"""Three gateway replicas behind one nginx address behave as one gateway.

Each test starts its own cluster (tests/integration/replicas/cluster.py): three ``walletgate serve``
processes sharing a fresh PostgreSQL schema, one Redis database, the key file and the data folder,
the sandbox bank as upstream, and nginx round robin in front. Every loop is bounded.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select

from consent.db import open_engine
from consent.model import Consent
from consent.sql import SqlConsentStore
from consent.tables import access_records
from policies import load_policies
from tests.e2e.consent.conftest import CONSENTS, consent_body
from tests.e2e.pipeline.harness import BASE, Wallet
from tests.integration.replicas.cluster import NGINX, Cluster, limits_policies, start_cluster

pytestmark = [pytest.mark.integration, pytest.mark.skipif(NGINX is None, reason="Debian's nginx is not installed")]

CURRENT = "acc-alice-current"
LIMITS = """\
instances: 3
wallet:
  attended: {rate: 500, per: 1s, burst: 500}
user:
  attended: {rate: 500, per: 1s, burst: 500}
rules:
  bulk-read: {rate: 500, per: 1s, burst: 500}
  statement-file: {rate: 500, per: 1s, burst: 500}
apis:
  uk-ob-accounts-v4:
    operations:
      GetBalances: {rate: 4, per: 1h, burst: 4}
"""


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Cluster]:
    policies = limits_policies(tmp_path, LIMITS)
    running = start_cluster(tmp_path, postgres_url, redis_url, policies_dir=policies)
    try:
        yield running
    finally:
        running.stop()


def _client_call(wallet: Wallet, method: str, path: str, **kwargs: Any) -> httpx.Response:
    token = wallet.token(None, user=wallet.client_id)
    headers = {"Authorization": f"DPoP {token}", "DPoP": wallet.proof(method, path, token)}
    return wallet.http.request(method, path, headers=headers, **kwargs)


def _authorise(wallet: Wallet, consent_id: str) -> Consent:
    async def work(store: SqlConsentStore) -> Consent:
        return await store.authorise(consent_id, user_id="alice", account_ids=[CURRENT])

    return wallet._with_store(work)  # type: ignore[no-any-return]


def _replica(response: httpx.Response) -> str:
    return str(response.headers["x-replica"]).split(",")[-1].strip()


def test_consent_created_through_one_replica_is_served_and_revoked_by_all(cluster: Cluster) -> None:
    wallet = cluster.wallet("wallet-replicas")
    via = [cluster.direct(wallet, i) for i in range(3)]
    try:
        created = _client_call(via[0], "POST", CONSENTS, json=consent_body(["ReadAccountsBasic"]))
        assert created.status_code == 201, created.text
        consent_id = created.json()["Data"]["ConsentId"]
        consent = _authorise(wallet, consent_id)  # the customer's approval, as the authorization screen records it

        answered_by = set()
        for _ in range(6):  # through nginx: round robin reaches every replica
            response = wallet.get(BASE + "/accounts", consent)
            assert response.status_code == 200, response.text
            answered_by.add(_replica(response))
        assert answered_by == {url.removeprefix("http://") for url in cluster.replica_urls}
        for replica in via:  # every replica's consent cache is now warm
            assert replica.get(BASE + "/accounts", consent).status_code == 200

        deleted = _client_call(via[1], "DELETE", f"{CONSENTS}/{consent_id}")
        assert deleted.status_code == 204, deleted.text
        revoked_at = time.monotonic()
        refused: dict[int, float] = {}
        while len(refused) < 3 and time.monotonic() - revoked_at < 3.0:
            for index, replica in enumerate(via):
                if index not in refused and replica.get(BASE + "/accounts", consent).status_code in (401, 403):
                    refused[index] = time.monotonic() - revoked_at
            time.sleep(0.05)
        assert sorted(refused) == [0, 1, 2], f"replicas still serving the revoked consent: {refused}"
        assert max(refused.values()) < 1.0, f"seconds until each replica refused: {refused}"
        after = wallet.get(BASE + "/accounts", consent)
        assert after.status_code == 403, after.text
        assert after.json()["Errors"][0]["ErrorCode"] == "U009"
    finally:
        for client in (wallet, *via):
            client.close()


def test_rate_limits_are_counted_once_for_every_replica(cluster: Cluster) -> None:
    wallet = cluster.wallet("wallet-limits")
    consent = wallet.consent({"ReadAccountsBasic", "ReadBalances"}, (CURRENT,))
    try:
        responses = [wallet.get(BASE + "/balances", consent) for _ in range(7)]
    finally:
        wallet.close()
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 4 + [429] * 3, [(r.status_code, r.text[:200]) for r in responses]
    assert len({_replica(r) for r in responses[:4]}) >= 2  # the 4 admitted calls were spread over replicas
    assert len({_replica(r) for r in responses[4:]}) >= 2  # ... and so were the refusals
    refusal = responses[4].json()["Errors"][0]
    assert refusal["ErrorCode"] == "U042"
    assert "GetBalances" in refusal["Message"]


def test_killing_a_replica_mid_load_loses_no_answered_call_and_the_others_keep_serving(cluster: Cluster) -> None:
    wallet = cluster.wallet("wallet-load")
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    answers: list[tuple[str, int, str]] = []  # (interaction id, status, replica)
    replays: list[tuple[str, str]] = []  # (replicas tried, WWW-Authenticate) of refused retries
    failures: list[str] = []
    lock = threading.Lock()

    def load(count: int) -> None:
        worker = cluster.wallet("wallet-load")
        worker._key, worker.jwk = wallet._key, wallet.jwk
        try:
            for _ in range(count):
                interaction = str(uuid.uuid4())
                try:
                    extra: dict[str, Any] = {"x-fapi-interaction-id": interaction}
                    response = worker.get(BASE + "/accounts", consent, **extra)
                except Exception as exc:
                    with lock:
                        failures.append(repr(exc))
                    continue
                with lock:
                    answers.append((interaction, response.status_code, response.headers.get("x-replica", "")))
                    if response.status_code == 401:
                        replays.append((answers[-1][2], response.headers.get("www-authenticate", "")))
        finally:
            worker.close()

    threads = [threading.Thread(target=load, args=(60,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(answers) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim = cluster.replicas[2]
    assert victim.proc is not None
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(10)
    kill_index = len(answers)
    for thread in threads:
        thread.join(60)
    wallet.close()

    # nginx retries a call whose replica died mid-request on the next one; the retry carries the DPoP
    # proof the dead replica already saw, so it is refused as a replay before any wallet is known
    # (and such refusals have no access record by design: gateway/pipeline/audit.py).
    for tried, challenge in replays:
        assert "," in tried, tried  # a retry: nginx names every replica it tried
        assert 'error="invalid_dpop_proof"' in challenge, challenge
    served = [(i, s, r) for i, s, r in answers if s < 500 and s != 401]
    victim_addr = cluster.replica_urls[2].removeprefix("http://")
    assert any(r.split(",")[-1].strip() == victim_addr for _, _, r in answers[:kill_index])
    after_kill = answers[kill_index + 3 :]  # past the calls in flight at the moment of the kill
    assert after_kill
    assert all(s == 200 for _, s, _ in after_kill), after_kill
    assert all(r.split(",")[-1].strip() != victim_addr for _, _, r in after_kill)

    recorded = asyncio.run(_recorded_interactions(cluster.stack.database_url))
    missing = [(i, s, r) for i, s, r in served if i not in recorded]
    assert not missing, f"{len(missing)} answered calls have no access record (of {len(served)}): {missing[:5]}"
    assert not failures, failures  # nginx answered every call (a retry on a live replica, or an error)
    assert len(answers) == 180


async def _recorded_interactions(url: str) -> set[str]:
    engine = open_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(access_records.c.interaction_id))
            return {str(row[0]) for row in rows}
    finally:
        await engine.dispose()


def test_cluster_policies_copy_loads(tmp_path: Path) -> None:
    assert load_policies(limits_policies(tmp_path, LIMITS)).limits is not None
