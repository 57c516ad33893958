"""Self-signed client certificates for the mTLS tests, as a TLS terminator would forward them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID


def certificate(common_name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Wallet Ltd"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.now(UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    builder = builder.serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
    return builder.not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256())


def forwarded(cert: x509.Certificate) -> str:
    """The URL-encoded PEM a TLS terminator puts in the client-certificate header."""
    return quote(cert.public_bytes(Encoding.PEM).decode("ascii"))
