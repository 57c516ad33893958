"""The client certificate handed over by the TLS terminator (RFC 8705).

TLS ends at a reverse proxy, which forwards the client's certificate as URL-encoded PEM in
``settings.client_cert_header``. Anyone can send that header, so it is believed only when the
TCP peer (never an X-Forwarded-For address) is one of ``settings.trusted_proxies``; from anywhere
else it is ignored as if absent. See ``gateway.client_address`` for the one rule on proxies.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.datastructures import Headers

from gateway.client_address import peer_is_trusted
from gateway.errors import OAuthError
from gateway.settings import Settings

_MAX_PEM_CHARS = 16 * 1024


class InvalidClientCertificateError(OAuthError):
    """RFC 8705 §2: the forwarded client certificate cannot be read."""

    status, oauth_error, message = 401, "invalid_client", "The client certificate is invalid."


def client_certificate(headers: Mapping[str, str], peer_ip: str | None, settings: Settings) -> x509.Certificate | None:
    """The certificate forwarded by a trusted proxy, or ``None`` when there is none to trust.

    Raises ``InvalidClientCertificateError`` when a trusted proxy forwards something that is
    not one PEM certificate, or the header more than once: a terminator that adds its header
    instead of replacing the client's would otherwise let the client's own come first.
    """
    name = settings.client_cert_header
    raw = headers.get(name)
    if not raw or not peer_is_trusted(peer_ip, settings):
        return None
    if isinstance(headers, Headers) and len(headers.getlist(name)) > 1:
        raise InvalidClientCertificateError(f"header {name} is sent more than once")
    if len(raw) > _MAX_PEM_CHARS:
        raise InvalidClientCertificateError(f"header {name} is too large")
    pem = unquote(raw).strip()
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise InvalidClientCertificateError(f"header {name} does not hold a URL-encoded PEM certificate") from None


def x5t_s256(cert: x509.Certificate) -> str:
    """RFC 8705 §3.1 confirmation value: base64url (no padding) SHA-256 of the DER certificate."""
    digest = hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def subject_dn_matches(cert: x509.Certificate, dn: str) -> bool:
    """Whether the certificate's subject equals ``dn`` (an RFC 4514 string), attribute by attribute.

    Both sides are parsed into names, so spacing, escaping and attribute-type case do not
    matter; attribute values compare exactly, and an unparsable ``dn`` never matches.
    """
    try:
        expected = x509.Name.from_rfc4514_string(_tidy_dn(dn))
    except ValueError:
        return False
    return _canonical(cert.subject) == _canonical(expected)


# An attribute type and '=' at the start of the string or after an unescaped ',' or '+'.
_ATTRIBUTE_TYPE = re.compile(r"(^|(?<!\\)[,+])\s*([A-Za-z][A-Za-z0-9-]*|[0-9.]+)\s*=")


def _tidy_dn(dn: str) -> str:
    """Accept what people write: attribute types in any case and spaces around separators."""
    return _ATTRIBUTE_TYPE.sub(lambda m: f"{m.group(1)}{m.group(2).upper()}=", dn.strip())


def _canonical(name: x509.Name) -> list[frozenset[tuple[str, str]]]:
    return [frozenset((attr.oid.dotted_string, str(attr.value)) for attr in rdn) for rdn in name.rdns]
