"""One typed settings object, read from ``WALLETGATE_*`` variables and an optional TOML file.

Every field carries its help text and its checks in ``metadata``, so the environment name,
the default, the help and the validation live in one place: ``walletgate settings`` and the
README table are generated from the same source. ``load_settings`` gathers *all* problems
and raises one ``SettingsError`` whose lines each name the setting, the value and what is
expected.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints
from urllib.parse import urlsplit

ENV_PREFIX = "WALLETGATE_"
SETTINGS_FILE_ENV = "WALLETGATE_SETTINGS_FILE"
# Variables under these prefixes, or of these names, belong to the test suite or tools, not to the gateway.
_FOREIGN_ENV_PREFIXES = ("WALLETGATE_TEST_", "WALLETGATE_BENCH_")
_FOREIGN_ENV_NAMES = frozenset({SETTINGS_FILE_ENV, "WALLETGATE_SPECS_DIR"})  # SPECS_DIR: see the README
# The permission bits of other users a private key file must not carry in production (a group may read it).
_KEY_FILE_OPEN_TO_OTHERS = 0o007
# Production bearer tokens (admin API, /metrics): a length a random string reaches easily and a guessable one does not,
# and what a placeholder left in place looks like once lower-cased with everything but letters and digits removed.
_MIN_TOKEN_LENGTH = 32
_MIN_TOKEN_DISTINCT_CHARACTERS = 8
_PLACEHOLDER_MARKERS = ("changeme", "replaceme", "placeholder", "yourtoken")
_PLACEHOLDER_WORDS = re.compile(r"(?:secret|password|passwd|admin|metrics|token|default|test|walletgate)+")

Mode = Literal["demo", "production"]
LogLevel = Literal["debug", "info", "warning", "error"]
LimiterFailure = Literal["open", "closed"]
LogFormat = Literal["auto", "json", "text"]
ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_PACKAGE_POLICIES = Path(__file__).resolve().parent.parent / "policies"


class SettingsError(Exception):
    """Start-up refused: one line per problem, each naming the setting, value and expectation."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Secret(str):
    """A string whose ``repr`` never shows its value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('**********')"


def _f(default: Any, help: str, **checks: Any) -> Any:
    return field(default=default, metadata={"help": help, **checks})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the gateway reads at start-up. Construct with ``load_settings``."""

    mode: Mode = _f(
        "demo", "demo: seeded users, generated keys, loopback http redirect URIs allowed; production: none of that"
    )
    data_dir: Path = _f(Path(".walletgate"), "folder for the SQLite file, generated keys and demo credentials")
    host: str = _f("127.0.0.1", "address the gateway listens on")
    port: int = _f(8000, "port the gateway listens on", min=1, max=65535)
    workers: int = _f(1, "uvicorn worker processes", min=1, max=64)
    issuer: str = _f(
        "",
        "issuer identifier (https URL in production); empty means http://HOST:PORT",
        url=True,
        empty_ok=True,
        issuer=True,
    )
    database_url: str = _f(
        "",
        "SQLAlchemy URL (sqlite:///... or postgresql://...); empty means a SQLite file in DATA_DIR (demo mode only)",
        database=True,
        empty_ok=True,
    )
    redis_url: str = _f(
        "",
        "Redis URL for shared limits, caches, replay caches and revocation; empty means in-process (demo mode only)",
        redis=True,
        empty_ok=True,
    )
    upstream_url: str = _f(
        "http://127.0.0.1:8100",
        "base URL of the bank upstream the shipped policy publishes (the sandbox bank in the demo)",
        url=True,
    )
    sandbox_port: int = _f(8100, "port the demo starts the sandbox bank on", min=1, max=65535)
    policies_dir: Path = _f(_PACKAGE_POLICIES, "folder of policy YAML files", must_exist=True)
    signing_keys_file: Path | None = _f(
        None,
        "JWK set (private) used to sign tokens; required in production, generated in DATA_DIR in demo mode",
        must_exist=True,
    )
    directory_jwks_file: Path | None = _f(
        None,
        "public JWK set of the trusted software-statement directory; demo mode generates one in DATA_DIR",
        must_exist=True,
    )
    directory_issuer: str = _f(
        "walletgate-demo-directory", "iss that software statements from the trusted directory carry"
    )
    login_url: str = _f(
        "",
        "the bank's login page for delegated login (it receives ?login_challenge=...; https in production); empty "
        "means the built-in user store",
        url=True,
        empty_ok=True,
    )
    access_token_ttl: int = _f(300, "access token lifetime in seconds (FAPI: 120 to 600)", min=120, max=600)
    authorization_code_ttl: int = _f(60, "authorization code lifetime in seconds", min=10, max=60)
    par_ttl: int = _f(60, "lifetime of a pushed authorization request_uri in seconds", min=10, max=599)
    awaiting_authorisation_ttl: int = _f(
        3600, "seconds an AWAU consent may wait for the user before it expires", min=60, max=86400
    )
    consent_cache_ttl: float = _f(
        1.0, "seconds a gateway instance may serve a cached consent without hearing of a change", min=0.0, max=60.0
    )
    clock_skew: int = _f(10, "seconds of clock skew tolerated on iat/nbf/exp", min=0, max=60)
    dpop_nonce_required: bool = _f(
        False, "require server-issued DPoP nonces (RFC 9449 §8) at /par and /token; wallets retry on use_dpop_nonce"
    )
    trusted_proxies: tuple[ProxyNetwork, ...] = _f(
        (ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("::1")),
        "comma-separated addresses or CIDR networks (IPv4, IPv6) of the reverse proxies in front of the gateway; "
        "only they may send X-Forwarded-For and the client-certificate header",
        ip_networks=True,
    )
    client_cert_header: str = _f(
        "x-ssl-client-cert", "header in which the TLS terminator forwards the PEM client certificate (URL-encoded)"
    )
    redis_budget_ms: int = _f(
        250,
        "milliseconds a Redis call may take before the limiter treats Redis as lost (event-loop lag under load counts)",
        min=1,
        max=5000,
    )
    limiter_on_redis_failure: LimiterFailure = _f(
        "open", "default when Redis is lost: open (local share of each limit) or closed (503)"
    )
    otlp_endpoint: str = _f(
        "",
        "OTLP/HTTP endpoint for traces and metrics; empty: the standard OTEL_EXPORTER_OTLP_* variables decide",
        url=True,
        empty_ok=True,
    )
    log_level: LogLevel = _f("info", "log level")
    log_format: LogFormat = _f("auto", "log lines: json (one object per line), text, or auto (json in production)")
    admin_token: Secret = _f(
        Secret(""),
        "bearer token for the admin API (production: at least 32 random characters); empty disables the admin API",
    )
    metrics_token: Secret = _f(
        Secret(""),
        "bearer token a Prometheus scraper presents on GET /metrics (production: at least 32 random characters); "
        "empty turns /metrics off",
    )
    shutdown_grace: float = _f(
        0.0,
        "seconds between SIGTERM and closing the listener, answering 503 meanwhile so load balancers move on",
        min=0.0,
        max=120.0,
    )
    audit_durable: bool = _f(
        False,
        "write each access record before its response is sent (none lost when a replica is killed; "
        "costs one database write per call on the request path)",
    )

    def __repr__(self) -> str:
        """Every field, with tokens masked and the password of any URL replaced by ``****``."""
        shown = (f"{f.name}={_show(f.name, getattr(self, f.name))}" for f in dataclasses.fields(self))
        return f"Settings({', '.join(shown)})"

    @property
    def issuer_url(self) -> str:
        return (self.issuer or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'walletgate.db').resolve()}"

    @property
    def demo(self) -> bool:
        return self.mode == "demo"


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, for the CLI and the README."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = f.default
        shown = ",".join(map(_shown_item, default)) if isinstance(default, tuple) else _shown_item(default)
        if f.name == "policies_dir":
            shown = "(the shipped policies)"
        rows.append((env_name(f.name), shown, f.metadata["help"]))
    return rows


def _shown_item(value: object) -> str:
    """A default as it would be written in the environment: a single-address network as the address."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network) and value.num_addresses == 1:
        return str(value.network_address)
    return "" if value is None else str(value)


def load_settings(
    environ: Mapping[str, str] | None = None,
    file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build ``Settings`` from a TOML file, then the environment, then explicit overrides.

    Raises ``SettingsError`` listing every problem found, never the first one only.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    raw: dict[str, tuple[str, Any]] = {}  # field name -> (where it came from, raw value)
    names = {f.name for f in dataclasses.fields(Settings)}

    file = file or (Path(environ[SETTINGS_FILE_ENV]) if environ.get(SETTINGS_FILE_ENV) else None)
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(f"settings file {file}: not found")
            data = {}
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"settings file {file}: not valid TOML ({exc})")
            data = {}
        for key, value in data.items():
            if key not in names:
                problems.append(
                    f"settings file {file}: unknown key {key!r}; expected one of {', '.join(sorted(names))}"
                )
            else:
                raw[key] = (f"{file}: {key}", value)

    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key in _FOREIGN_ENV_NAMES or key.startswith(_FOREIGN_ENV_PREFIXES):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in names:
            problems.append(f"{key}: unknown setting; see `walletgate settings` for the list")
        else:
            raw[name] = (key, value)

    for name, value in (overrides or {}).items():
        if name not in names:
            raise ValueError(f"unknown setting override {name!r}")
        raw[name] = (env_name(name), value)

    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if f.name not in raw:
            continue
        source, value = raw[f.name]
        try:
            values[f.name] = _cast(hints[f.name], value, f.metadata)
        except ValueError as exc:
            problems.append(f"{source}={_show(f.name, value)}: {exc}")

    settings = Settings(**values) if not problems else None
    if settings is not None:
        problems.extend(_cross_checks(settings))
    if problems or settings is None:
        raise SettingsError(problems)
    return settings


def _show(name: str, value: Any) -> str:
    """A value as errors and ``repr`` show it: tokens masked, a URL's password replaced by ``****``."""
    if name in ("admin_token", "metrics_token"):
        return "'****'"
    return repr(_without_password(value)) if isinstance(value, str) else repr(value)


def _without_password(text: str) -> str:
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        password = None
    if not password:
        return text
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:****@{host}").geturl()


def _cross_checks(s: Settings) -> list[str]:
    problems = []
    if s.mode == "production":
        if s.signing_keys_file is None:
            problems.append(
                f"{env_name('signing_keys_file')}: required in production mode (keys are never generated silently)"
            )
        if s.directory_jwks_file is None:
            problems.append(f"{env_name('directory_jwks_file')}: required in production mode")
        if not s.issuer.startswith("https://"):
            problems.append(f"{env_name('issuer')}={s.issuer!r}: production mode needs an https issuer URL")
        if not s.database_url:
            problems.append(
                f"{env_name('database_url')}: required in production mode (empty means a SQLite file in the data "
                "folder: each replica would keep consents and tokens of its own); name the PostgreSQL database"
            )
        keys = s.signing_keys_file
        if keys is not None and keys.is_file() and keys.stat().st_mode & _KEY_FILE_OPEN_TO_OTHERS:
            problems.append(
                f"{env_name('signing_keys_file')}={str(keys)!r}: the private signing keys are open to other users "
                f"(mode {keys.stat().st_mode & 0o777:o}); production mode needs them private (chmod o-rwx)"
            )
        problems.extend(_production_redis_and_login(s))
        problems.extend(_production_tokens(s))
    return problems


def _production_redis_and_login(s: Settings) -> list[str]:
    """State every replica must share (Redis), and the login delegation over TLS."""
    problems = []
    if not s.redis_url:
        problems.append(
            f"{env_name('redis_url')}: required in production mode (empty means in-process: each replica would keep "
            "its own DPoP-proof and client-assertion replay caches, limits and consent invalidation, so a proof "
            "replayed to another replica would be accepted); name the Redis every replica shares"
        )
    if s.login_url and urlsplit(s.login_url).scheme != "https":
        problems.append(
            f"{env_name('login_url')}={_show('login_url', s.login_url)}: production mode needs an https login URL "
            "(the browser carries the user's login to it; over http it would travel in clear)"
        )
    return problems


def _production_tokens(s: Settings) -> list[str]:
    """The admin and metrics bearer tokens: empty (that API off) or hard to guess."""
    problems = []
    for name, empty_means in (("admin_token", "disables the admin API"), ("metrics_token", "turns /metrics off")):
        why = _token_weakness(str(getattr(s, name)))
        if why:
            problems.append(
                f"{env_name(name)}: too weak for production mode ({why}); set a random string of at least "
                f"{_MIN_TOKEN_LENGTH} characters (openssl rand -hex 32), or leave it empty, which {empty_means}"
            )
    return problems


def _token_weakness(token: str) -> str | None:
    """Why a non-empty bearer token is too easy to guess, or ``None``."""
    if not token:
        return None
    plain = re.sub(r"[^a-z0-9]", "", token.lower())
    if len(token) < _MIN_TOKEN_LENGTH:
        return f"it has {len(token)} characters, production mode needs at least {_MIN_TOKEN_LENGTH}"
    if any(marker in plain for marker in _PLACEHOLDER_MARKERS) or _PLACEHOLDER_WORDS.fullmatch(plain):
        return "it is a placeholder, not a random string"
    if len(set(token)) < _MIN_TOKEN_DISTINCT_CHARACTERS:
        return f"it repeats fewer than {_MIN_TOKEN_DISTINCT_CHARACTERS} different characters"
    return None


def _cast(kind: Any, value: Any, checks: Mapping[str, Any]) -> Any:
    """Turn a raw value (a string from the environment, or a TOML value) into ``kind``."""
    if kind == (Path | None):
        if value in (None, ""):
            return None
        kind = Path
    origin_args = get_args(kind)
    if kind is bool:
        return _cast_bool(value)
    if kind is int:
        return _in_range(_cast_int(value), checks)
    if kind is float:
        return _in_range(_cast_float(value), checks)
    if kind is Path:
        path = Path(str(value)).expanduser()
        if checks.get("must_exist") and not path.exists():
            raise ValueError("expected an existing path; nothing is there")
        return path
    if kind is Secret:
        return Secret(str(value))
    if kind == tuple[str, ...] or checks.get("ip_networks"):
        if not isinstance(value, str | list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a comma-separated string or a list of strings")
        items = tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else tuple(value)
        return tuple(_proxy_network(item) for item in items) if checks.get("ip_networks") else items
    if origin_args and all(isinstance(a, str) for a in origin_args):  # a Literal
        if value not in origin_args:
            raise ValueError(f"expected one of {', '.join(origin_args)}")
        return value
    text = str(value)
    if text == "" and checks.get("empty_ok"):
        return text
    if checks.get("url"):
        _check_url(text, ("http", "https"))
    if checks.get("issuer"):
        _check_issuer(text)
    if checks.get("database"):
        _check_database_url(text)
    if checks.get("redis"):
        _check_url(text, ("redis", "rediss", "unix"))
    return text


def _ip_network(item: str) -> ProxyNetwork:
    """``10.0.0.5`` (one address) or ``10.0.0.0/8`` (a network); host bits after the prefix are ignored."""
    try:
        return ipaddress.ip_network(item.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"expected comma-separated IP addresses or CIDR networks (such as 10.0.0.0/8 or fd00::/8); "
            f"{item!r} is not one"
        ) from None


def _proxy_network(item: str) -> ProxyNetwork:
    """A trusted proxy network; one holding every address (``0.0.0.0/0``, ``::/0``) would trust every wallet."""
    network = _ip_network(item)
    if network.prefixlen == 0:
        raise ValueError(
            f"{item!r} is every address: any wallet could then send X-Forwarded-For and the client-certificate "
            "header; list only the proxies in front of the gateway"
        )
    return network


def _cast_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _cast_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError("expected a whole number") from None


def _cast_float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("expected a number") from None
    if not math.isfinite(number):  # nan passes every range check
        raise ValueError("expected a number")
    return number


def _in_range(number: Any, checks: Mapping[str, Any]) -> Any:
    low, high = checks.get("min"), checks.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"expected a value from {low} to {high}")
    return number


def _check_url(text: str, schemes: tuple[str, ...]) -> None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"expected a {'/'.join(schemes)} URL ({exc})") from None
    if parts.scheme not in schemes or (parts.scheme != "unix" and not parts.hostname):
        raise ValueError(f"expected a {'/'.join(schemes)} URL with a host")


def _check_issuer(text: str) -> None:
    """RFC 8414 §2 / OpenID Discovery: an issuer is a URL without query or fragment (paths are appended to it)."""
    parts = urlsplit(text)
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError("expected a URL without query or fragment")


def _check_database_url(text: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError("expected a SQLAlchemy URL such as sqlite:///path/to.db or postgresql://host/db") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError("expected a sqlite:// or postgresql:// URL")
