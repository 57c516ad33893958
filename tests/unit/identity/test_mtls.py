from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.oauth.mtls import InvalidClientCertificateError, client_certificate, subject_dn_matches, x5t_s256
from tests.unit.identity.certs import forwarded, make_certificate


def test_client_certificate_is_read_from_a_trusted_proxy(settings_factory):
    settings = settings_factory(trusted_proxies="10.0.0.5")
    cert = make_certificate()
    got = client_certificate({"x-ssl-client-cert": forwarded(cert)}, "10.0.0.5", settings)
    assert got == cert


def test_client_certificate_from_an_untrusted_peer_is_ignored(settings_factory):
    settings = settings_factory(trusted_proxies="10.0.0.5")
    header = {"x-ssl-client-cert": forwarded(make_certificate())}
    assert client_certificate(header, "10.0.0.6", settings) is None
    assert client_certificate(header, None, settings) is None
    assert client_certificate(header, "not-an-ip", settings) is None


def test_client_certificate_is_read_from_a_proxy_inside_a_trusted_network(settings_factory):
    settings = settings_factory(trusted_proxies="10.244.0.0/16")
    cert = make_certificate()
    assert client_certificate({"x-ssl-client-cert": forwarded(cert)}, "10.244.7.1", settings) == cert


def test_client_certificate_from_a_peer_outside_the_trusted_network_is_ignored(settings_factory):
    settings = settings_factory(trusted_proxies="10.244.0.0/16")
    assert client_certificate({"x-ssl-client-cert": forwarded(make_certificate())}, "10.245.0.1", settings) is None


def test_client_certificate_absent_gives_none(settings_factory):
    assert client_certificate({}, "127.0.0.1", settings_factory()) is None


def test_client_certificate_uses_the_configured_header(settings_factory):
    settings = settings_factory(client_cert_header="x-client-cert")
    cert = make_certificate()
    assert client_certificate({"x-ssl-client-cert": forwarded(cert)}, "127.0.0.1", settings) is None
    assert client_certificate({"x-client-cert": forwarded(cert)}, "127.0.0.1", settings) == cert


def test_client_certificate_refuses_garbage_from_a_trusted_proxy(settings_factory):
    with pytest.raises(InvalidClientCertificateError, match="x-ssl-client-cert does not hold"):
        client_certificate({"x-ssl-client-cert": "not%20a%20cert"}, "127.0.0.1", settings_factory())


def test_client_certificate_refuses_an_oversized_header(settings_factory):
    with pytest.raises(InvalidClientCertificateError, match="header x-ssl-client-cert is too large"):
        client_certificate({"x-ssl-client-cert": "A" * (16 * 1024 + 1)}, "127.0.0.1", settings_factory())


def test_a_trusted_proxy_is_recognised_however_its_address_is_written(settings_factory):
    settings = settings_factory(trusted_proxies="::1")
    cert = make_certificate()
    assert client_certificate({"x-ssl-client-cert": forwarded(cert)}, "0:0:0:0:0:0:0:1", settings) == cert
    assert client_certificate({"x-ssl-client-cert": forwarded(cert)}, "not an address", settings) is None


def test_x5t_s256_is_base64url_sha256_of_der():
    cert = make_certificate()
    expected = base64.urlsafe_b64encode(hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()).rstrip(b"=")
    assert x5t_s256(cert) == expected.decode()
    assert "=" not in x5t_s256(cert)


def test_subject_dn_matches_rfc4514_string_regardless_of_spacing():
    cert = make_certificate("wallet-1", "Demo Wallet Ltd")
    assert subject_dn_matches(cert, "CN=wallet-1,O=Demo Wallet Ltd,C=GB")
    assert subject_dn_matches(cert, "cn=wallet-1, o=Demo Wallet Ltd, c=GB")


def test_subject_dn_refuses_another_subject():
    cert = make_certificate("wallet-1")
    assert not subject_dn_matches(cert, "CN=wallet-2,O=Demo Wallet Ltd,C=GB")
    assert not subject_dn_matches(cert, "CN=wallet-1,O=Demo Wallet Ltd")
    assert not subject_dn_matches(cert, "C=GB,O=Demo Wallet Ltd,CN=wallet-1")
    assert not subject_dn_matches(cert, "not a dn ===")
