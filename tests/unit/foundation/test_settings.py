"""Settings: defaults are the embedded ones; every bad value stops start-up with one clear line."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import ip_network
from pathlib import Path

import pytest

from gateway.settings import Secret, SettingsError, describe, load_settings


def _problems(environ: dict[str, str], **kwargs: object) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def test_defaults_are_the_embedded_ones() -> None:
    settings = load_settings(environ={})
    assert settings.mode == "demo"
    assert settings.redis_url == ""
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith(".walletgate/walletgate.db")
    assert settings.issuer_url == "http://127.0.0.1:8000"
    assert settings.upstream_url == "http://127.0.0.1:8100"


def test_environment_values_are_cast_to_their_types() -> None:
    settings = load_settings(
        environ={
            "WALLETGATE_PORT": "9001",
            "WALLETGATE_CONSENT_CACHE_TTL": "0.5",
            "WALLETGATE_TRUSTED_PROXIES": "10.0.0.1, ::1",
        }
    )
    assert settings.port == 9001
    assert settings.consent_cache_ttl == 0.5
    assert settings.trusted_proxies == (ip_network("10.0.0.1"), ip_network("::1"))


def test_port_out_of_range_is_refused_naming_the_setting_and_range() -> None:
    assert _problems({"WALLETGATE_PORT": "70000"}) == ["WALLETGATE_PORT='70000': expected a value from 1 to 65535"]


def test_non_numeric_port_is_refused() -> None:
    assert _problems({"WALLETGATE_PORT": "eighty"}) == ["WALLETGATE_PORT='eighty': expected a whole number"]


def test_unparseable_database_url_is_refused() -> None:
    [problem] = _problems({"WALLETGATE_DATABASE_URL": "not a url"})
    assert problem.startswith("WALLETGATE_DATABASE_URL='not a url': expected a SQLAlchemy URL")


def test_unsupported_database_is_refused() -> None:
    assert _problems({"WALLETGATE_DATABASE_URL": "mysql://db/walletgate"}) == [
        "WALLETGATE_DATABASE_URL='mysql://db/walletgate': expected a sqlite:// or postgresql:// URL"
    ]


def test_unknown_setting_is_refused() -> None:
    assert _problems({"WALLETGATE_PORTT": "8000"}) == [
        "WALLETGATE_PORTT: unknown setting; see `walletgate settings` for the list"
    ]


def test_missing_key_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jwks.json"
    assert _problems({"WALLETGATE_SIGNING_KEYS_FILE": str(missing)}) == [
        f"WALLETGATE_SIGNING_KEYS_FILE='{missing}': expected an existing path; nothing is there"
    ]


def test_value_outside_its_choices_is_refused() -> None:
    assert _problems({"WALLETGATE_MODE": "staging"}) == ["WALLETGATE_MODE='staging': expected one of demo, production"]


def test_token_lifetime_outside_fapi_bounds_is_refused() -> None:
    assert _problems({"WALLETGATE_ACCESS_TOKEN_TTL": "3600"}) == [
        "WALLETGATE_ACCESS_TOKEN_TTL='3600': expected a value from 120 to 600"
    ]


def test_redis_url_with_wrong_scheme_is_refused() -> None:
    assert _problems({"WALLETGATE_REDIS_URL": "http://127.0.0.1:6379"}) == [
        "WALLETGATE_REDIS_URL='http://127.0.0.1:6379': expected a redis/rediss/unix URL with a host"
    ]


def test_bad_ip_in_trusted_proxies_is_refused() -> None:
    assert _problems({"WALLETGATE_TRUSTED_PROXIES": "127.0.0.1,proxy.local"}) == [
        "WALLETGATE_TRUSTED_PROXIES='127.0.0.1,proxy.local': expected comma-separated IP addresses or CIDR "
        "networks (such as 10.0.0.0/8 or fd00::/8); 'proxy.local' is not one"
    ]


def test_a_trusted_proxy_network_with_a_bad_prefix_is_refused() -> None:
    [problem] = _problems({"WALLETGATE_TRUSTED_PROXIES": "10.0.0.0/33"})
    assert problem.startswith("WALLETGATE_TRUSTED_PROXIES='10.0.0.0/33': expected comma-separated IP addresses")
    assert problem.endswith("'10.0.0.0/33' is not one")


def test_trusted_proxies_default_to_the_loopback_addresses() -> None:
    assert load_settings(environ={}).trusted_proxies == (ip_network("127.0.0.1"), ip_network("::1"))


def test_trusted_proxies_accept_single_addresses_and_cidr_networks() -> None:
    settings = load_settings(environ={"WALLETGATE_TRUSTED_PROXIES": "192.0.2.7,10.244.0.0/16"})
    assert settings.trusted_proxies == (ip_network("192.0.2.7/32"), ip_network("10.244.0.0/16"))


def test_trusted_proxies_accept_ipv6_addresses_and_networks() -> None:
    settings = load_settings(environ={"WALLETGATE_TRUSTED_PROXIES": "2001:db8::1, fd00::/8"})
    assert settings.trusted_proxies == (ip_network("2001:db8::1/128"), ip_network("fd00::/8"))


def test_a_trusted_proxy_network_with_host_bits_set_means_its_whole_network() -> None:
    settings = load_settings(environ={"WALLETGATE_TRUSTED_PROXIES": "10.244.3.9/16"})
    assert settings.trusted_proxies == (ip_network("10.244.0.0/16"),)


def test_trusted_proxies_in_a_settings_file_must_be_strings(tmp_path: Path) -> None:
    file = tmp_path / "walletgate.toml"
    file.write_text("trusted_proxies = [1, '::1']\n", encoding="utf-8")
    assert _problems({}, file=file) == [
        f"{file}: trusted_proxies=[1, '::1']: expected a comma-separated string or a list of strings"
    ]
    file.write_text("trusted_proxies = ['10.0.0.1', '::1']\n", encoding="utf-8")
    assert load_settings(environ={}, file=file).trusted_proxies == (ip_network("10.0.0.1"), ip_network("::1"))


def test_a_switch_that_is_not_true_or_false_is_refused() -> None:
    assert _problems({"WALLETGATE_AUDIT_DURABLE": "maybe"}) == [
        "WALLETGATE_AUDIT_DURABLE='maybe': expected true or false"
    ]


def test_an_issuer_that_is_not_an_http_url_is_refused() -> None:
    assert _problems({"WALLETGATE_ISSUER": "ftp://gw.example"}) == [
        "WALLETGATE_ISSUER='ftp://gw.example': expected a http/https URL with a host"
    ]


def test_a_settings_file_that_is_missing_or_not_toml_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert _problems({}, file=missing) == [f"settings file {missing}: not found"]
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n", encoding="utf-8")
    [problem] = _problems({"WALLETGATE_SETTINGS_FILE": str(broken)})
    assert problem.startswith(f"settings file {broken}: not valid TOML (")


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems({"WALLETGATE_PORT": "0", "WALLETGATE_WORKERS": "many", "WALLETGATE_FOO": "1"})
    assert len(problems) == 3


def test_production_mode_refuses_to_start_without_keys_and_https_issuer() -> None:
    problems = _problems({"WALLETGATE_MODE": "production"})
    assert any(p.startswith("WALLETGATE_SIGNING_KEYS_FILE: required in production mode") for p in problems)
    assert any("needs an https issuer URL" in p for p in problems)


def test_settings_file_is_read_and_unknown_keys_in_it_refused(tmp_path: Path) -> None:
    file = tmp_path / "walletgate.toml"
    file.write_text("port = 9100\nprot = 1\n", encoding="utf-8")
    [problem] = _problems({}, file=file)
    assert problem.startswith(f"settings file {file}: unknown key 'prot'")
    file.write_text("port = 9100\n", encoding="utf-8")
    assert load_settings(environ={}, file=file).port == 9100


def test_environment_overrides_the_settings_file(tmp_path: Path) -> None:
    file = tmp_path / "walletgate.toml"
    file.write_text("port = 9100\n", encoding="utf-8")
    assert load_settings(environ={"WALLETGATE_PORT": "9200"}, file=file).port == 9200


def test_admin_token_never_shows_in_repr_or_errors() -> None:
    settings = load_settings(environ={"WALLETGATE_ADMIN_TOKEN": "s3cr3t-value"})
    assert isinstance(settings.admin_token, Secret)
    assert "s3cr3t-value" not in repr(settings)


def test_cli_reports_a_bad_setting_in_one_line_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "settings", "--check"],
        env={"WALLETGATE_PORT": "99999", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "walletgate: setting WALLETGATE_PORT='99999': expected a value from 1 to 65535"
    assert "Traceback" not in result.stderr


def test_the_settings_list_shows_the_default_trusted_proxies_as_addresses() -> None:
    [default] = [default for name, default, _ in describe() if name == "WALLETGATE_TRUSTED_PROXIES"]
    assert default == "127.0.0.1,::1"


def test_the_specs_folder_variable_the_readme_documents_is_not_an_unknown_setting(tmp_path: Path) -> None:
    assert load_settings(environ={"WALLETGATE_SPECS_DIR": str(tmp_path)}).mode == "demo"


@pytest.mark.parametrize("value", ["nan", "NaN", "-nan"])
def test_a_number_that_is_not_a_number_is_refused(value: str) -> None:
    assert _problems({"WALLETGATE_CONSENT_CACHE_TTL": value}) == [
        f"WALLETGATE_CONSENT_CACHE_TTL='{value}': expected a number"
    ]


def test_a_database_url_password_never_shows_in_errors() -> None:
    [problem] = _problems({"WALLETGATE_DATABASE_URL": "mysql://walletgate:hunter2@db/walletgate"})
    assert "hunter2" not in problem
    assert problem == (
        "WALLETGATE_DATABASE_URL='mysql://walletgate:****@db/walletgate': expected a sqlite:// or postgresql:// URL"
    )


def test_a_redis_url_password_never_shows_in_errors() -> None:
    [problem] = _problems({"WALLETGATE_REDIS_URL": "http://:hunter2@redis:6379/0"})
    assert "hunter2" not in problem


def test_url_passwords_never_show_in_repr() -> None:
    settings = load_settings(
        environ={
            "WALLETGATE_DATABASE_URL": "postgresql://walletgate:hunter2@db:5432/walletgate",
            "WALLETGATE_REDIS_URL": "redis://:hunter3@redis:6379/0",
        }
    )
    shown = repr(settings)
    assert "hunter2" not in shown
    assert "hunter3" not in shown
    assert "database_url='postgresql://walletgate:****@db:5432/walletgate'" in shown
    assert settings.database_url == "postgresql://walletgate:hunter2@db:5432/walletgate"


@pytest.mark.parametrize("every", ["0.0.0.0/0", "::/0", "10.0.0.0/0"])
def test_trusted_proxies_that_are_every_address_are_refused(every: str) -> None:
    [problem] = _problems({"WALLETGATE_TRUSTED_PROXIES": f"127.0.0.1,{every}"})
    assert problem.startswith(f"WALLETGATE_TRUSTED_PROXIES='127.0.0.1,{every}': '{every}' is every address")


@pytest.mark.parametrize("issuer", ["https://gw.example?tenant=1", "https://gw.example/#top", "https://gw.example?"])
def test_an_issuer_with_a_query_or_fragment_is_refused(issuer: str) -> None:
    assert _problems({"WALLETGATE_ISSUER": issuer}) == [
        f"WALLETGATE_ISSUER='{issuer}': expected a URL without query or fragment"
    ]


def _production(tmp_path: Path, key_mode: int) -> dict[str, str]:
    keys = tmp_path / "signing.jwks.json"
    keys.write_text("{}", encoding="utf-8")
    keys.chmod(key_mode)
    directory = tmp_path / "directory.jwks.json"
    directory.write_text("{}", encoding="utf-8")
    return {
        "WALLETGATE_MODE": "production",
        "WALLETGATE_ISSUER": "https://gw.example",
        "WALLETGATE_SIGNING_KEYS_FILE": str(keys),
        "WALLETGATE_DIRECTORY_JWKS_FILE": str(directory),
        "WALLETGATE_DATABASE_URL": "postgresql://walletgate@db.internal/walletgate",
        "WALLETGATE_REDIS_URL": "redis://redis.internal:6379/0",
    }


def test_production_refuses_to_start_without_a_database_url(tmp_path: Path) -> None:
    environ = _production(tmp_path, 0o600)
    del environ["WALLETGATE_DATABASE_URL"]
    [problem] = _problems(environ)
    assert problem.startswith("WALLETGATE_DATABASE_URL: required in production mode")


def test_production_refuses_a_signing_key_file_other_users_can_read(tmp_path: Path) -> None:
    environ = _production(tmp_path, 0o644)
    assert _problems(environ) == [
        f"WALLETGATE_SIGNING_KEYS_FILE='{tmp_path / 'signing.jwks.json'}': the private signing keys are open to "
        "other users (mode 644); production mode needs them private (chmod o-rwx)"
    ]


@pytest.mark.parametrize("mode", [0o600, 0o440])
def test_production_accepts_a_signing_key_file_private_to_its_owner_or_group(tmp_path: Path, mode: int) -> None:
    assert load_settings(environ=_production(tmp_path, mode)).mode == "production"
