"""A throwaway PKI for TLS tests: one CA, a server certificate for 127.0.0.1, a client certificate.

Every key is generated at test time under the test's tmp folder; none is committed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Pki", "make_pki", "reissue_server"]


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    ca_key: Path | None = None  # so a test can issue a renewed server certificate (reissue_server)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    dns: tuple[str, ...] = ("localhost",),
) -> x509.Certificate:
    # a fixed, long validity: no wall clock read, and the fixture never expires mid-run
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * 30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if usage is not None:
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        b = b.add_extension(
            x509.SubjectAlternativeName(
                [*map(x509.DNSName, dns), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return b.sign(signer, hashes.SHA256())


def make_pki(tmp: Path) -> Pki:
    """Write a self-signed CA and two certificates it issued (server, client) under `tmp`."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("perpmon test CA", ca_key, _name("perpmon test CA"), ca_key, ca=True)
    out: dict[str, Path] = {}
    for role, usage in (
        ("server", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(f"perpmon test {role}", key, ca.subject, ca_key, usage=usage)
        out[f"{role}_cert"] = tmp / f"{role}.pem"
        out[f"{role}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[f"{role}_key"] = _write_key(tmp / f"{role}.key", key)
    ca_path = tmp / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return Pki(ca=ca_path, ca_key=_write_key(tmp / "ca.key", ca_key), **out)


def reissue_server(pki: Pki, dns: tuple[str, ...]) -> int:
    """Overwrite the server certificate and key with a new pair from the same CA (a renewal, as
    cert-manager does it), valid for `dns` and 127.0.0.1; returns the new certificate's serial."""
    assert pki.ca_key is not None
    signer = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    assert isinstance(signer, ec.EllipticCurvePrivateKey)
    issuer = x509.load_pem_x509_certificate(pki.ca.read_bytes()).subject
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue("perpmon test server", key, issuer, signer, usage=ExtendedKeyUsageOID.SERVER_AUTH, dns=dns)
    _write_key(pki.server_key, key)
    pki.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert.serial_number
