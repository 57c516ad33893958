"""``walletgate clients register|list|show|delete``: the bank manages wallet clients directly.

Registration from the CLI needs no software statement (the bank itself vouches for the
wallet), but the metadata goes through the same checks as ``POST /register``. Deletion
deregisters as ``DELETE /register/{client_id}`` does (``gateway.oauth.deregistration``): with
Redis configured, every running gateway hears of it at once, as if one of them had done it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from consent.model import Actor
from gateway.cli import UserFacingError, read_json_file, settings_from_args
from gateway.clock import system_clock, utc
from gateway.commands.live_store import TOLD, live_store, not_told, unusable
from gateway.errors import GatewayError
from gateway.oauth.client_metadata import client_from_metadata
from gateway.oauth.clients import AUTH_METHODS, GRANT_TYPES, Client, ClientNotFoundError, ClientStore
from gateway.oauth.deregistration import DELETED_BY_BANK, Deregistered, Deregistration, deregister
from gateway.settings import Settings, env_name

T = TypeVar("T")
_BANK_ACTOR = "walletgate clients delete"  # the actor_id a consent it revokes records (actor: the bank)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("clients", help="register and list wallet clients", description=__doc__.split("\n\n")[0])
    actions = p.add_subparsers(dest="clients_command", metavar="ACTION", required=True)

    reg = actions.add_parser("register", help="register a wallet client", description="Register a wallet client.")
    reg.add_argument("--name", required=True, help="the wallet's name as users will see it")
    reg.add_argument(
        "--redirect-uri", action="append", dest="redirect_uris", default=[], metavar="URI", help="repeatable"
    )
    reg.add_argument("--jwks", metavar="FILE", help="the wallet's public JWK set (for private_key_jwt)")
    reg.add_argument("--jwks-uri", metavar="URL", help="where the wallet publishes its JWK set")
    reg.add_argument("--auth-method", choices=AUTH_METHODS, default="private_key_jwt", help="token endpoint auth")
    reg.add_argument("--subject-dn", help="certificate subject DN (RFC 4514) for tls_client_auth")
    reg.add_argument(
        "--grant-type", action="append", dest="grant_types", choices=GRANT_TYPES, help="repeatable (default: all)"
    )
    reg.add_argument("--scope", help="space-separated scopes (default: openid accounts)")
    reg.add_argument("--default-purpose", help="purpose when a request names none (default: aggregation)")
    reg.add_argument("--client-id", help="client_id to assign (default: a new UUID)")
    _database_args(reg)
    reg.set_defaults(handler=run_register)

    lst = actions.add_parser("list", help="list registered clients")
    _database_args(lst)
    lst.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="print one client's metadata as JSON")
    show.add_argument("client_id")
    _database_args(show)
    show.set_defaults(handler=run_show)

    remove = actions.add_parser(
        "delete",
        help="deregister a client and revoke everything it was granted",
        description="Deregister a wallet client as DELETE /register/{client_id} does: revoke its live consents "
        "(actor: the bank), delete it, revoke its tokens and drop its pending grants. Running gateways "
        "hear of it at once through the Redis named by WALLETGATE_REDIS_URL.",
    )
    remove.add_argument("client_id")
    _database_args(remove)
    remove.set_defaults(handler=run_delete)


def _database_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="database (WALLETGATE_DATABASE_URL)")
    p.add_argument("--data-dir", help="data folder (WALLETGATE_DATA_DIR)")


def _settings(args: argparse.Namespace) -> Settings:
    return settings_from_args(args, database_url=args.database_url, data_dir=args.data_dir)


def _with_store(settings: Settings, action: Callable[[ClientStore], Awaitable[T]]) -> T:
    from consent.db import open_engine

    async def go() -> T:
        engine = open_engine(settings.effective_database_url)
        try:
            return await action(ClientStore(engine))
        except (SQLAlchemyError, OSError) as exc:
            raise unusable(exc) from None
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _metadata(args: argparse.Namespace) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "client_name": args.name,
        "redirect_uris": args.redirect_uris,
        "token_endpoint_auth_method": args.auth_method,
    }
    if args.jwks:
        doc["jwks"] = read_json_file(Path(args.jwks))
    optional = {
        "jwks_uri": args.jwks_uri,
        "tls_client_auth_subject_dn": args.subject_dn,
        "grant_types": args.grant_types,
        "scope": args.scope,
        "default_purpose": args.default_purpose,
    }
    doc.update({k: v for k, v in optional.items() if v is not None})
    return doc


def run_register(args: argparse.Namespace) -> int:
    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from policies import load_policies

    try:
        client = client_from_metadata(
            _metadata(args),
            settings=settings,
            client_id=args.client_id or str(uuid.uuid4()),
            created_at=utc(),
            purposes=load_policies(settings.policies_dir).purposes,
        )
    except GatewayError as exc:
        where = f" ({exc.path})" if exc.path else ""
        raise UserFacingError(f"{exc.message}{where}") from None
    try:
        _with_store(settings, lambda store: store.create(client))
    except GatewayError as exc:
        raise UserFacingError(exc.message) from None
    print(f"registered {client.client_name!r} ({client.token_endpoint_auth_method}); client_id:")
    print(client.client_id)
    return 0


def run_list(args: argparse.Namespace) -> int:
    found: list[Client] = _with_store(_settings(args), lambda store: store.list())
    if not found:
        print("no clients registered")
        return 0
    print(f"{'client_id':<38} {'auth':<16} {'created':<20} name")
    for c in found:
        created = c.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{c.client_id:<38} {c.token_endpoint_auth_method:<16} {created:<20} {c.client_name}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    client = _with_store(_settings(args), lambda store: store.get(args.client_id))
    if client is None:
        raise UserFacingError(f"no client {args.client_id!r}")
    print(json.dumps(client.metadata(), indent=2))
    return 0


def run_delete(args: argparse.Namespace) -> int:
    settings = _settings(args)  # and WALLETGATE_REDIS_URL: the Redis the running gateways share
    done, denied = asyncio.run(_delete(settings, args.client_id))
    consents = _count(done.consents_revoked, "consent")
    print(f"deleted client {done.client_id}: {consents} revoked, {_count(denied, 'access token')} put on the deny-list")
    if settings.redis_url:
        print(TOLD)
    else:
        print(
            not_told(
                "each refuses the wallet's user tokens once its cached copy of the consent expires "
                f"({env_name('consent_cache_ttl')}: {settings.consent_cache_ttl:g} s) and accepts its "
                f"client_credentials tokens until they expire ({env_name('access_token_ttl')}: at most "
                f"{settings.access_token_ttl} s) or it restarts; its refresh tokens are refused at once"
            )
        )
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


async def _delete(settings: Settings, client_id: str) -> tuple[Deregistered, int]:
    """Deregister with what a running gateway would use (``live_store``): its database, its Redis (when
    set) and the same subscribers to consent changes."""
    async with live_store(settings) as live:
        parts = Deregistration(
            ClientStore(live.engine), live.consents, live.tokens, live.denied, system_clock, Actor.BANK,
            _BANK_ACTOR, DELETED_BY_BANK,
        )  # fmt: skip
        try:
            done = await deregister(client_id, parts)
        except ClientNotFoundError:
            raise UserFacingError(f"no client {client_id!r}") from None
        return done, len(live.denied.jtis)
