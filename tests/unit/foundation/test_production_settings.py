"""Production mode refuses what would make replicas disagree, carry a login in clear, or guard an API weakly.

Each refusal is one line naming the variable and why; demo mode keeps accepting the same values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import SettingsError, load_settings

STRONG = "9f2c1e7a4b8d3f60a5e1c2d7b9f04e3a"  # 32 characters, as `openssl rand -hex 16` prints them
TOKENS = ("WALLETGATE_ADMIN_TOKEN", "WALLETGATE_METRICS_TOKEN")


def _production(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    """A production environment that passes every check, with ``changes`` (None removes a variable)."""
    keys = tmp_path / "signing.jwks.json"
    keys.write_text("{}", encoding="utf-8")
    keys.chmod(0o600)
    directory = tmp_path / "directory.jwks.json"
    directory.write_text("{}", encoding="utf-8")
    environ = {
        "WALLETGATE_MODE": "production",
        "WALLETGATE_ISSUER": "https://gw.example",
        "WALLETGATE_SIGNING_KEYS_FILE": str(keys),
        "WALLETGATE_DIRECTORY_JWKS_FILE": str(directory),
        "WALLETGATE_DATABASE_URL": "postgresql://walletgate@db.internal/walletgate",
        "WALLETGATE_REDIS_URL": "redis://redis.internal:6379/0",
    }
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


def _problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    return caught.value.problems


def test_the_complete_production_environment_is_accepted(tmp_path: Path) -> None:
    settings = load_settings(environ=_production(tmp_path))
    assert settings.mode == "production"


def test_production_refuses_to_start_without_a_shared_redis(tmp_path: Path) -> None:
    [problem] = _problems(_production(tmp_path, WALLETGATE_REDIS_URL=None))
    assert problem.startswith("WALLETGATE_REDIS_URL: required in production mode (empty means in-process")
    assert "a proof replayed to another replica would be accepted" in problem


def test_production_refuses_an_empty_redis_url(tmp_path: Path) -> None:
    [problem] = _problems(_production(tmp_path, WALLETGATE_REDIS_URL=""))
    assert problem.startswith("WALLETGATE_REDIS_URL: required in production mode")


@pytest.mark.parametrize("url", ["rediss://:pw@redis.internal:6380/0", "unix:///run/redis/redis.sock"])
def test_production_accepts_a_redis_over_tls_or_a_unix_socket(tmp_path: Path, url: str) -> None:
    assert load_settings(environ=_production(tmp_path, WALLETGATE_REDIS_URL=url)).redis_url == url


@pytest.mark.parametrize("url", ["http://login.bank.example/login", "http://127.0.0.1:9000/login"])
def test_production_refuses_a_plain_http_login_url(tmp_path: Path, url: str) -> None:
    """Even a loopback one: the user's browser follows it, and redirect URIs get no loopback exception in
    production either."""
    assert _problems(_production(tmp_path, WALLETGATE_LOGIN_URL=url)) == [
        f"WALLETGATE_LOGIN_URL='{url}': production mode needs an https login URL (the browser carries the "
        "user's login to it; over http it would travel in clear)"
    ]


def test_production_accepts_an_https_login_url(tmp_path: Path) -> None:
    environ = _production(tmp_path, WALLETGATE_LOGIN_URL="https://login.bank.example/login")
    assert load_settings(environ=environ).login_url == "https://login.bank.example/login"


def test_a_refused_login_url_never_shows_its_password(tmp_path: Path) -> None:
    [problem] = _problems(_production(tmp_path, WALLETGATE_LOGIN_URL="http://svc:hunter2@login.bank.example/"))
    assert "hunter2" not in problem
    assert problem.startswith("WALLETGATE_LOGIN_URL='http://svc:****@login.bank.example/'")


@pytest.mark.parametrize("variable", TOKENS)
def test_production_refuses_a_short_token_naming_the_minimum_length(tmp_path: Path, variable: str) -> None:
    [problem] = _problems(_production(tmp_path, **{variable: "k3Q9-zR2"}))
    assert problem.startswith(
        f"{variable}: too weak for production mode (it has 8 characters, production mode needs at least 32); "
        "set a random string of at least 32 characters (openssl rand -hex 32), or leave it empty, which "
    )


@pytest.mark.parametrize("variable", TOKENS)
def test_production_accepts_a_token_of_exactly_the_minimum_length(tmp_path: Path, variable: str) -> None:
    assert len(STRONG) == 32
    settings = load_settings(environ=_production(tmp_path, **{variable: STRONG}))
    assert str(getattr(settings, variable.removeprefix("WALLETGATE_").lower())) == STRONG


def test_production_refuses_a_token_one_character_short_of_the_minimum(tmp_path: Path) -> None:
    [problem] = _problems(_production(tmp_path, WALLETGATE_ADMIN_TOKEN=STRONG[:31]))
    assert "(it has 31 characters, production mode needs at least 32)" in problem


@pytest.mark.parametrize(
    "placeholder",
    [
        "change-me",
        "changeme",
        "secret",
        "password",
        "admin",
        "change-me-to-a-long-random-string",  # deploy/.env.example, copied without editing
        "REPLACE-ME-LONG-RANDOM-ADMIN-TOKEN",  # deploy/k8s/secret-walletgate.yaml, applied without editing
        "ChangeMe_ChangeMe_ChangeMe_ChangeMe",
        "secret-password-admin-secret-password",
        "placeholder-for-the-walletgate-admin-token",
    ],
)
@pytest.mark.parametrize("variable", TOKENS)
def test_production_refuses_a_placeholder_token(tmp_path: Path, variable: str, placeholder: str) -> None:
    [problem] = _problems(_production(tmp_path, **{variable: placeholder}))
    assert problem.startswith(f"{variable}: too weak for production mode (")
    assert "at least 32 characters" in problem


def test_production_refuses_a_long_placeholder_saying_it_is_one(tmp_path: Path) -> None:
    [problem] = _problems(_production(tmp_path, WALLETGATE_METRICS_TOKEN="change-me-to-a-long-random-string"))
    assert problem == (
        "WALLETGATE_METRICS_TOKEN: too weak for production mode (it is a placeholder, not a random string); set a "
        "random string of at least 32 characters (openssl rand -hex 32), or leave it empty, which turns /metrics off"
    )


def test_production_refuses_a_long_token_of_few_different_characters(tmp_path: Path) -> None:
    [problem] = _problems(_production(tmp_path, WALLETGATE_ADMIN_TOKEN="ab" * 20))
    assert problem == (
        "WALLETGATE_ADMIN_TOKEN: too weak for production mode (it repeats fewer than 8 different characters); set a "
        "random string of at least 32 characters (openssl rand -hex 32), or leave it empty, which disables the "
        "admin API"
    )


def test_a_long_random_token_that_happens_to_hold_a_word_is_accepted(tmp_path: Path) -> None:
    token = "walletgate-admin-" + STRONG
    assert str(load_settings(environ=_production(tmp_path, WALLETGATE_ADMIN_TOKEN=token)).admin_token) == token


def test_production_accepts_empty_tokens_which_turn_their_apis_off(tmp_path: Path) -> None:
    settings = load_settings(environ=_production(tmp_path, WALLETGATE_ADMIN_TOKEN="", WALLETGATE_METRICS_TOKEN=""))
    assert (settings.admin_token, settings.metrics_token) == ("", "")


def test_a_refused_token_never_shows_in_the_error(tmp_path: Path) -> None:
    problems = _problems(_production(tmp_path, WALLETGATE_ADMIN_TOKEN="hunter2", WALLETGATE_METRICS_TOKEN="s3cr3t"))
    assert len(problems) == 2
    assert not any("hunter2" in p or "s3cr3t" in p for p in problems)


def test_every_production_problem_is_reported_at_once(tmp_path: Path) -> None:
    environ = _production(
        tmp_path,
        WALLETGATE_REDIS_URL=None,
        WALLETGATE_LOGIN_URL="http://login.bank.example/",
        WALLETGATE_ADMIN_TOKEN="admin",
        WALLETGATE_METRICS_TOKEN="changeme",
    )
    named = [problem.split(":")[0].split("=")[0] for problem in _problems(environ)]
    assert named == [
        "WALLETGATE_REDIS_URL",
        "WALLETGATE_LOGIN_URL",
        "WALLETGATE_ADMIN_TOKEN",
        "WALLETGATE_METRICS_TOKEN",
    ]


def test_demo_mode_keeps_in_process_state_http_login_and_short_tokens() -> None:
    settings = load_settings(
        environ={
            "WALLETGATE_LOGIN_URL": "http://127.0.0.1:9000/login",
            "WALLETGATE_ADMIN_TOKEN": "admin",
            "WALLETGATE_METRICS_TOKEN": "changeme",
        }
    )
    assert settings.demo
    assert settings.redis_url == ""
    assert settings.login_url == "http://127.0.0.1:9000/login"
