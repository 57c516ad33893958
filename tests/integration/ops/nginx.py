"""Run deploy/nginx's configuration with Debian's nginx on loopback, with test certificates.

``NginxConfig.write`` copies a main configuration and ``walletgate-tls.conf`` into a folder,
moving the listen port, upstream addresses, every /tmp path and the TLS folder (/etc/nginx-tls)
into that folder, and writes a CA, an RSA server certificate for 127.0.0.1 and the CA bundle
nginx trusts for wallets.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[3]
NGINX_DIR = ROOT / "deploy" / "nginx"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
TLS_DIR = "/etc/nginx-tls/"  # where the containers mount the certificate, key and client CA bundle


@dataclass(frozen=True)
class Issued:
    cert_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str) -> tuple[Issued, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _pem(cert, key), key, cert


def issue(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, common_name: str, *, server: bool = False
) -> Issued:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if server
        else ec.generate_private_key(ec.SECP256R1())
    )
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return _pem(builder.sign(ca_key, hashes.SHA256()), key)


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> Issued:
    return Issued(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


@dataclass
class NginxConfig:
    """A runnable copy of one deploy/nginx main configuration in ``folder``."""

    folder: Path
    main: str  # nginx.conf or nginx-sidecar.conf
    listen_port: int
    upstreams: dict[str, str]  # address in the shipped file -> address on this machine

    def write(self, server_tls: Issued, client_ca_pem: bytes) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "nginx.conf"
        text = (NGINX_DIR / self.main).read_text()
        for shipped, local in self.upstreams.items():
            text = text.replace(shipped, local)
        if os.geteuid() == 0:
            # In the containers nginx starts as uid 101 and its workers stay that user. Started as root
            # here, its workers would become `nobody` and could not write request bodies into this
            # folder (the tests' own, private to root): keep them the user that owns it.
            text = "user root;\n" + text
        conf.write_text(text.replace("/tmp/", f"{self.folder}/"))  # noqa: S108 - moving the shipped paths away
        tls_text = (NGINX_DIR / "walletgate-tls.conf").read_text()
        tls = self.folder / "tls"
        tls_text = tls_text.replace("listen 8443", f"listen {self.listen_port}").replace(TLS_DIR, f"{tls}/")
        (self.folder / "walletgate-tls.conf").write_text(tls_text)
        tls.mkdir(exist_ok=True)
        (tls / "server.crt").write_bytes(server_tls.cert_pem)
        (tls / "server.key").write_bytes(server_tls.key_pem)
        (tls / "client-ca.pem").write_bytes(client_ca_pem)
        return conf

    def command(self, *extra: str) -> list[str]:
        assert NGINX is not None
        return [NGINX, "-e", "stderr", "-p", f"{self.folder}/", "-c", str(self.folder / "nginx.conf"), *extra]

    def test(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30, check=False)


def wait_for_listener(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Return once ``process`` (nginx) accepts connections on ``port``; fail if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "nginx exited at start-up"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nginx did not listen in time")
