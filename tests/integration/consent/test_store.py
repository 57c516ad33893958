"""The SQL consent store on SQLite and PostgreSQL: every change one transaction, one event, one version."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from consent.errors import (
    ConcurrentChangeError,
    ConsentFieldError,
    ConsentNotFoundError,
    IdempotencyConflictError,
    InvalidTransitionError,
    PurposeRuleError,
)
from consent.model import Actor, Consent, ConsentPosition, ConsentStatus, NewConsent
from consent.sql import SqlConsentStore
from consent.tables import consent_events, consents
from gateway.clock import FrozenClock
from tests.support.records import access_record

S = ConsentStatus


def _new(
    client_id: str = "wallet-1", purposes=("aggregation",), permissions=("ReadAccountsBasic", "ReadBalances"), **kw
):
    return NewConsent(client_id=client_id, permissions=frozenset(permissions), purposes=purposes, **kw)


async def _authorised(store: SqlConsentStore, user: str = "alice", **kw) -> Consent:
    created = await store.create(_new(**kw))
    return await store.authorise(created.consent_id, user_id=user, account_ids=["acc-1", "acc-2"])


async def test_create_then_get_returns_the_same_consent(store: SqlConsentStore) -> None:
    created = await store.create(_new())
    assert created.status is S.AWAITING_AUTHORISATION
    assert created.version == 1
    assert await store.get(created.consent_id) == created


async def test_create_refuses_a_purpose_rule_and_writes_nothing(store: SqlConsentStore, published) -> None:
    with pytest.raises(PurposeRuleError, match="'marketing' breaks rule 'permissions'"):
        await store.create(
            _new(purposes=("marketing",), permissions=("ReadTransactionsDetail", "ReadTransactionsCredits"))
        )
    async with store.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(consents))).scalar() == 0
    assert published == []


async def test_every_change_appends_a_chained_event_and_bumps_version(store: SqlConsentStore) -> None:
    consent = await _authorised(store)
    paused = await store.pause(consent.consent_id, actor=Actor.USER, actor_id="alice", reason="holiday")
    events = await store.events(consent.consent_id)
    assert [e.kind for e in events] == ["created", "authorised", "paused"]
    assert [e.seq for e in events] == [1, 2, 3]
    assert paused.version == 3
    assert events[0].prev_hash == ""
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert (events[2].actor, events[2].actor_id, events[2].reason) == (Actor.USER, "alice", "holiday")
    assert events[1].changes["status"] == ["AWAU", "AUTH"]
    assert await store.verify_chain() is None


async def test_revoking_twice_is_refused_and_changes_nothing(store: SqlConsentStore, published) -> None:
    consent = await _authorised(store)
    await store.revoke(consent.consent_id, actor=Actor.WALLET, actor_id="wallet-1")
    published.clear()
    with pytest.raises(InvalidTransitionError, match=r"Cannot revoke consent .*: its status is CANC"):
        await store.revoke(consent.consent_id, actor=Actor.USER, actor_id="alice")
    assert len(await store.events(consent.consent_id)) == 3
    assert published == []


async def test_authorising_an_expired_consent_is_refused(store: SqlConsentStore, frozen_clock: FrozenClock) -> None:
    created = await store.create(_new())
    frozen_clock.advance(3601)
    with pytest.raises(InvalidTransitionError, match=r"Cannot authorise consent .*: its status is EXPD"):
        await store.authorise(created.consent_id, user_id="alice", account_ids=["acc-1"])
    events = await store.events(created.consent_id)
    assert [(e.kind, e.actor) for e in events] == [("created", Actor.WALLET), ("expired", Actor.SYSTEM)]


async def test_pausing_a_rejected_consent_is_refused(store: SqlConsentStore) -> None:
    created = await store.create(_new())
    await store.reject(created.consent_id, user_id="alice")
    with pytest.raises(InvalidTransitionError, match=r"Cannot pause consent .*: its status is RJCT"):
        await store.pause(created.consent_id, actor=Actor.USER, actor_id="alice")
    assert (await store.get(created.consent_id)).status is S.REJECTED


async def test_authorise_refuses_marketing_without_opt_in(store: SqlConsentStore) -> None:
    created = await store.create(_new(purposes=("marketing",), permissions=("ReadAccountsBasic",)))
    with pytest.raises(PurposeRuleError, match="'marketing' breaks rule 'requires_explicit_opt_in'"):
        await store.authorise(created.consent_id, user_id="alice", account_ids=["acc-1"])
    assert (await store.get(created.consent_id)).status is S.AWAITING_AUTHORISATION
    opted = await store.authorise(created.consent_id, user_id="alice", account_ids=["acc-1"], marketing_opt_in=True)
    assert opted.marketing_opt_in


async def test_authorise_without_opt_in_drops_marketing_and_records_it(store: SqlConsentStore) -> None:
    created = await store.create(_new(purposes=("aggregation", "marketing"), permissions=("ReadAccountsBasic",)))
    granted = await store.authorise(created.consent_id, user_id="alice", account_ids=["acc-1"])
    assert granted.purposes == ("aggregation",)
    assert granted.marketing_opt_in is False
    assert await store.get(created.consent_id) == granted
    last = (await store.events(created.consent_id))[-1]
    assert last.changes["purposes"] == [["aggregation", "marketing"], ["aggregation"]]


async def test_a_new_consent_has_no_opt_in_answer_yet(store: SqlConsentStore) -> None:
    created = await store.create(_new(purposes=("aggregation", "marketing"), permissions=("ReadAccountsBasic",)))
    assert created.marketing_opt_in is None
    assert (await store.get(created.consent_id)).marketing_opt_in is None


async def test_authorise_records_no_opt_in_answer_when_no_purpose_asked_for_one(store: SqlConsentStore) -> None:
    created = await store.create(_new())
    granted = await store.authorise(created.consent_id, user_id="alice", account_ids=["acc-1"], marketing_opt_in=True)
    assert granted.marketing_opt_in is None
    assert (await store.get(created.consent_id)).marketing_opt_in is None


async def test_another_wallet_or_user_gets_not_found(store: SqlConsentStore) -> None:
    consent = await _authorised(store)
    with pytest.raises(ConsentNotFoundError):
        await store.revoke(consent.consent_id, actor=Actor.WALLET, actor_id="wallet-2")
    with pytest.raises(ConsentNotFoundError):
        await store.pause(consent.consent_id, actor=Actor.USER, actor_id="bob")
    with pytest.raises(ConsentNotFoundError):
        await store.get_for_client(consent.consent_id, "wallet-2")
    with pytest.raises(ConsentNotFoundError):
        await store.get_for_user(consent.consent_id, "bob")
    revoked = await store.revoke(consent.consent_id, actor=Actor.BANK, actor_id="ops-1", reason="fraud")
    assert revoked.status is S.REVOKED


async def test_pause_resume_and_amend(store: SqlConsentStore) -> None:
    consent = await _authorised(store)
    await store.pause(consent.consent_id, actor=Actor.USER, actor_id="alice")
    amended = await store.amend(
        consent.consent_id, actor=Actor.USER, actor_id="alice", account_ids=["acc-2"], permissions=["ReadBalances"]
    )
    assert (amended.status, amended.account_ids, amended.permissions) == (
        S.PAUSED,
        ("acc-2",),
        frozenset({"ReadBalances"}),
    )
    resumed = await store.resume(consent.consent_id, actor=Actor.USER, actor_id="alice")
    assert resumed.status is S.AUTHORISED
    assert await store.get(consent.consent_id) == resumed


async def test_amend_refuses_to_drop_a_basic_permission_its_kept_detail_includes(store: SqlConsentStore) -> None:
    consent = await _authorised(store, permissions=("ReadAccountsBasic", "ReadAccountsDetail", "ReadBalances"))
    with pytest.raises(ConsentFieldError, match="cannot drop ReadAccountsBasic while keeping ReadAccountsDetail"):
        await store.amend(
            consent.consent_id, actor=Actor.USER, actor_id="alice", permissions=["ReadAccountsDetail", "ReadBalances"]
        )
    assert await store.get(consent.consent_id) == consent
    assert [e.kind for e in await store.events(consent.consent_id)] == ["created", "authorised"]


async def test_expiry_is_applied_on_read_and_recorded(store: SqlConsentStore, frozen_clock: FrozenClock) -> None:
    consent = await _authorised(store, expires_at=None)
    frozen_clock.advance(366 * 86400)
    read = await store.get(consent.consent_id)
    assert read.status is S.EXPIRED
    assert (await store.events(consent.consent_id))[-1].actor_id == "walletgate"


async def test_sweep_expires_waiting_and_lapsed_consents(store: SqlConsentStore, frozen_clock: FrozenClock) -> None:
    waiting = await store.create(_new())
    lending = await _authorised(store, purposes=("lending",))
    live = await _authorised(store)
    frozen_clock.advance(91 * 86400)
    assert await store.sweep_expired() == 2
    assert await store.sweep_expired() == 0
    async with store.engine.connect() as conn:
        rows = dict((await conn.execute(sa.select(consents.c.consent_id, consents.c.status))).all())
    assert rows == {waiting.consent_id: "EXPD", lending.consent_id: "EXPD", live.consent_id: "AUTH"}
    assert (await store.events(waiting.consent_id))[-1].kind == "expired"


async def test_idempotent_create_returns_the_same_consent(store: SqlConsentStore) -> None:
    first = await store.create(_new(), idempotency_key="k-1", body_hash="h-1")
    again = await store.create(_new(), idempotency_key="k-1", body_hash="h-1")
    assert again == first
    other_wallet = await store.create(_new("wallet-2"), idempotency_key="k-1", body_hash="h-1")
    assert other_wallet.consent_id != first.consent_id


async def test_idempotency_key_with_a_different_body_is_refused(store: SqlConsentStore) -> None:
    await store.create(_new(), idempotency_key="k-1", body_hash="h-1")
    with pytest.raises(IdempotencyConflictError, match="'k-1' was already used with a different request body"):
        await store.create(_new(), idempotency_key="k-1", body_hash="h-2")


async def test_idempotency_key_is_free_again_after_24_hours(store: SqlConsentStore, frozen_clock) -> None:
    first = await store.create(_new(), idempotency_key="k-1", body_hash="h-1")
    frozen_clock.advance(24 * 3600 + 1)
    later = await store.create(_new(), idempotency_key="k-1", body_hash="h-1")
    assert later.consent_id != first.consent_id


async def test_concurrent_creates_with_one_key_make_one_consent(store: SqlConsentStore) -> None:
    results = await asyncio.gather(*(store.create(_new(), idempotency_key="k-race", body_hash="h") for _ in range(6)))
    assert len({c.consent_id for c in results}) == 1
    async with store.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(consents))).scalar() == 1


async def test_concurrent_changes_never_lose_an_event(store: SqlConsentStore) -> None:
    consent = await _authorised(store)
    outcomes = await asyncio.gather(
        store.pause(consent.consent_id, actor=Actor.USER, actor_id="alice"),
        store.revoke(consent.consent_id, actor=Actor.USER, actor_id="alice"),
        return_exceptions=True,
    )
    final = await store.get(consent.consent_id)
    events = await store.events(consent.consent_id)
    assert final.version == len(events) == 2 + sum(not isinstance(o, Exception) for o in outcomes)
    assert await store.verify_chain() is None


async def test_list_for_user_filters_and_pages(store: SqlConsentStore, frozen_clock: FrozenClock) -> None:
    made = []
    for purposes in [("aggregation",), ("lending",), ("aggregation",)]:
        made.append(await _authorised(store, purposes=purposes))
        frozen_clock.advance(1)
    await _authorised(store, user="bob")
    await store.revoke(made[0].consent_id, actor=Actor.USER, actor_id="alice")
    page = await store.list_for_user("alice", limit=2)
    assert [c.consent_id for c in page.items] == [made[2].consent_id, made[1].consent_id]
    assert page.next == ConsentPosition(made[1].created_at, made[1].consent_id)
    rest = await store.list_for_user("alice", limit=2, after=page.next)
    assert ([c.consent_id for c in rest.items], rest.next) == ([made[0].consent_id], None)
    lending = await store.list_for_user("alice", purpose="lending")
    assert [c.consent_id for c in lending.items] == [made[1].consent_id]
    revoked = await store.list_for_user("alice", status="CANC")
    assert [c.consent_id for c in revoked.items] == [made[0].consent_id]
    assert (await store.list_for_user("alice", client_id="wallet-2")).items == ()


async def test_verify_chain_names_an_altered_event(store: SqlConsentStore) -> None:
    consent = await _authorised(store)
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.update(consent_events)
            .where(consent_events.c.consent_id == consent.consent_id, consent_events.c.seq == 2)
            .values(reason="edited afterwards")
        )
    broken = await store.verify_chain()
    assert broken is not None
    assert (broken.consent_id, broken.seq) == (consent.consent_id, 2)
    assert broken.problem == "the event's content does not match its hash"


async def test_verify_chain_notices_a_removed_newest_event(store: SqlConsentStore) -> None:
    consent = await _authorised(store)
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.delete(consent_events).where(
                consent_events.c.consent_id == consent.consent_id, consent_events.c.seq == 2
            )
        )
    broken = await store.verify_chain()
    assert broken is not None
    assert (broken.consent_id, broken.seq) == (consent.consent_id, 2)


async def test_changes_are_published_after_commit(store: SqlConsentStore, published) -> None:
    consent = await _authorised(store)
    await store.revoke(consent.consent_id, actor=Actor.USER, actor_id="alice")
    assert [c.status for c in published] == [S.AWAITING_AUTHORISATION, S.AUTHORISED, S.REVOKED]
    assert [c.version for c in published] == [1, 2, 3]


async def test_access_records_are_written_in_a_batch_and_read_newest_first(store: SqlConsentStore) -> None:
    consent = await _authorised(store)
    now = store.now()
    records = [
        access_record(
            interaction_id=f"i-{n}", at=now + timedelta(seconds=n), consent_id=consent.consent_id, response_bytes=120
        )
        for n in range(3)
    ]
    await store.record_access(records)
    history = await store.access_history(consent_id=consent.consent_id)
    assert [r.interaction_id for r in history] == ["i-2", "i-1", "i-0"]
    assert history[0] == records[2]
    assert len(await store.access_history(user_id="alice", limit=2)) == 2
    assert list(await store.access_history(user_id="bob")) == []


async def test_concurrent_sweeps_expire_each_consent_once(store: SqlConsentStore, frozen_clock: FrozenClock) -> None:
    waiting = [await store.create(_new()) for _ in range(4)]
    frozen_clock.advance(3601)
    counts = await asyncio.gather(store.sweep_expired(), store.sweep_expired(), store.get(waiting[0].consent_id))
    assert counts[0] + counts[1] >= 3
    for consent in waiting:
        kinds = [e.kind for e in await store.events(consent.consent_id)]
        assert kinds == ["created", "expired"]
    assert await store.verify_chain() is None


async def test_idempotent_replay_is_answered_before_the_rules_are_checked_again(
    store: SqlConsentStore, frozen_clock: FrozenClock
) -> None:
    expiry = store.now() + timedelta(hours=1)
    first = await store.create(_new(expires_at=expiry), idempotency_key="k", body_hash="h")
    frozen_clock.advance(2 * 3600)  # the same body would now be refused: its expiry has passed
    again = await store.create(_new(expires_at=expiry), idempotency_key="k", body_hash="h")
    assert again.consent_id == first.consent_id
    assert again.status is S.EXPIRED


async def test_a_change_that_keeps_losing_its_race_is_refused_with_409(
    store: SqlConsentStore, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    consent = await _authorised(store)
    published.clear()
    attempts = []

    async def lose(*args: object) -> bool:  # another writer always bumps the version first
        attempts.append(args)
        return False

    monkeypatch.setattr(store, "_commit", lose)
    with pytest.raises(ConcurrentChangeError) as caught:
        await store.pause(consent.consent_id, actor=Actor.USER, actor_id="alice")
    assert (caught.value.status, caught.value.code) == (409, "UK.OBIE.UnexpectedError")
    assert caught.value.message == f"Consent {consent.consent_id!r} changed concurrently too often; retry."
    assert len(attempts) == 8
    assert published == []
    assert len(await store.events(consent.consent_id)) == 2


async def test_access_history_needs_a_consent_or_a_user(store: SqlConsentStore) -> None:
    with pytest.raises(ValueError, match="access history needs a consent_id or a user_id"):
        await store.access_history()
