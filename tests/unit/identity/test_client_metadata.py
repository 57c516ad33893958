from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.oauth.client_metadata import InvalidClientMetadataError, InvalidRedirectUriError, client_from_metadata
from gateway.oauth.keys import generate_jwk, public_jwk
from policies import load_policies

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _doc(**kw):
    doc = {
        "client_name": "Wallet",
        "redirect_uris": ["https://wallet.example/cb"],
        "jwks": {"keys": [public_jwk(generate_jwk("ES256"))]},
    }
    doc.update(kw)
    return {k: v for k, v in doc.items() if v is not None}


def _client(settings, **kw):
    return client_from_metadata(_doc(**kw), settings=settings, client_id="c1", created_at=NOW)


def test_valid_metadata_gives_a_client_with_fapi_defaults(settings_factory):
    client = _client(settings_factory())
    assert client.token_endpoint_auth_method == "private_key_jwt"
    assert client.grant_types == ("authorization_code", "refresh_token", "client_credentials")
    assert client.dpop_bound_access_tokens is True
    assert client.default_purpose == "aggregation"


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("http://wallet.example/cb", "must use https"),
        ("https://wallet.example/cb#frag", "must not contain a fragment"),
        ("https://*.wallet.example/cb", "wildcards are not allowed"),
        ("https://wallet.example/*", "wildcards are not allowed"),
        ("wallet://cb", "must use https"),
        ("/relative", "must be an absolute URL with a host"),
        ("https://user:pw@wallet.example/cb", "must not contain user information"),
        ("https://wallet.example/c b", "no spaces or control characters"),
        ("ftp://wallet.example/cb", "must use https"),
    ],
)
def test_bad_redirect_uri_is_refused_naming_it(settings_factory, uri, problem):
    with pytest.raises(InvalidRedirectUriError, match=problem) as exc:
        _client(settings_factory(), redirect_uris=["https://ok.example/cb", uri])
    assert exc.value.oauth_error == "invalid_redirect_uri"
    assert exc.value.path == "redirect_uris[1]"


def test_loopback_http_redirect_is_allowed_in_demo_mode(settings_factory):
    client = _client(settings_factory(), redirect_uris=["http://127.0.0.1:8765/cb", "http://localhost/cb"])
    assert client.redirect_uris == ("http://127.0.0.1:8765/cb", "http://localhost/cb")


def test_loopback_http_redirect_is_refused_in_production(production_settings):
    with pytest.raises(InvalidRedirectUriError, match="only on loopback in demo mode"):
        _client(production_settings, redirect_uris=["http://127.0.0.1:8765/cb"])


def test_missing_redirect_uris_are_refused_for_the_code_grant(settings_factory):
    with pytest.raises(InvalidRedirectUriError, match="redirect_uris is required"):
        _client(settings_factory(), redirect_uris=[])


def test_client_credentials_only_client_needs_no_redirect_uri(settings_factory):
    client = _client(settings_factory(), redirect_uris=None, grant_types=["client_credentials"])
    assert client.redirect_uris == ()


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "none", "client_secret_jwt"])
def test_auth_methods_other_than_private_key_jwt_and_tls_are_refused(settings_factory, method):
    with pytest.raises(InvalidClientMetadataError, match=f"token_endpoint_auth_method '{method}'") as exc:
        _client(settings_factory(), token_endpoint_auth_method=method)
    assert exc.value.oauth_error == "invalid_client_metadata"
    assert exc.value.path == "token_endpoint_auth_method"


def test_jwks_and_jwks_uri_together_are_refused(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="not both"):
        _client(settings_factory(), jwks_uri="https://wallet.example/jwks")


def test_private_key_jwt_without_keys_is_refused(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="needs jwks or jwks_uri"):
        _client(settings_factory(), jwks=None)


def test_private_key_in_jwks_is_refused(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="private or symmetric") as exc:
        _client(settings_factory(), jwks={"keys": [generate_jwk("ES256")]})
    assert exc.value.path == "jwks"


def test_symmetric_key_in_jwks_is_refused(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="private or symmetric"):
        _client(settings_factory(), jwks={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})


def test_jwks_uri_must_be_https(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match=r"jwks_uri .* must use https"):
        _client(settings_factory(), jwks=None, jwks_uri="http://wallet.example/jwks")


@pytest.mark.parametrize("field", ["token_endpoint_auth_signing_alg", "id_token_signed_response_alg"])
@pytest.mark.parametrize("alg", ["RS256", "HS256", "none", "ES512"])
def test_signing_algorithms_outside_fapi_are_refused(settings_factory, field, alg):
    with pytest.raises(InvalidClientMetadataError, match=f"{field} '{alg}' is not accepted") as exc:
        _client(settings_factory(), **{field: alg})
    assert exc.value.path == field


def test_id_tokens_in_an_algorithm_the_gateway_has_no_key_kind_for_are_refused(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="not one the gateway signs ID tokens with") as exc:
        _client(settings_factory(), id_token_signed_response_alg="EdDSA")
    assert exc.value.path == "id_token_signed_response_alg"


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_id_tokens_in_either_gateway_algorithm_are_accepted(settings_factory, alg):
    assert _client(settings_factory(), id_token_signed_response_alg=alg).id_token_signed_response_alg == alg


def test_jwk_with_a_non_fapi_alg_is_refused(settings_factory):
    key = public_jwk(generate_jwk("ES256")) | {"alg": "RS256"}
    with pytest.raises(InvalidClientMetadataError, match=r"jwks.keys\[0\] alg 'RS256'"):
        _client(settings_factory(), jwks={"keys": [key]})


@pytest.mark.parametrize("grant", ["implicit", "password", "urn:ietf:params:oauth:grant-type:device_code"])
def test_unsupported_grant_types_are_refused(settings_factory, grant):
    with pytest.raises(InvalidClientMetadataError, match=f"grant_types\\[1\\] '{grant}' is not supported"):
        _client(settings_factory(), grant_types=["authorization_code", grant])


def test_response_types_other_than_code_are_refused(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="response_types"):
        _client(settings_factory(), response_types=["token"])


def test_tls_client_auth_needs_a_subject_dn(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="needs tls_client_auth_subject_dn"):
        _client(settings_factory(), token_endpoint_auth_method="tls_client_auth", jwks=None)
    client = _client(
        settings_factory(),
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn="CN=wallet,O=Wallet Ltd,C=GB",
        jwks=None,
    )
    assert client.tls_client_auth_subject_dn == "CN=wallet,O=Wallet Ltd,C=GB"


def test_marketing_cannot_be_the_default_purpose(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="default_purpose may not be marketing"):
        _client(settings_factory(), default_purpose="marketing")


@pytest.mark.parametrize("field", ["client_secret", "registration_access_token", "client_id_issued_at"])
def test_server_assigned_fields_are_refused(settings_factory, field):
    with pytest.raises(InvalidClientMetadataError, match=f"{field} is assigned by the server"):
        _client(settings_factory(), **{field: "x"})


def test_client_name_is_required(settings_factory):
    with pytest.raises(InvalidClientMetadataError, match="client_name is required"):
        _client(settings_factory(), client_name=None)


def test_default_purpose_must_be_one_the_policy_defines(settings_factory):
    settings = settings_factory()
    purposes = load_policies(settings.policies_dir).purposes
    doc = _doc(default_purpose="astrology")
    with pytest.raises(InvalidClientMetadataError, match="'astrology' is not a purpose") as exc:
        client_from_metadata(doc, settings=settings, client_id="c1", created_at=NOW, purposes=purposes)
    assert exc.value.path == "default_purpose"
    ok = client_from_metadata(_doc(), settings=settings, client_id="c1", created_at=NOW, purposes=purposes)
    assert ok.default_purpose == "aggregation"
