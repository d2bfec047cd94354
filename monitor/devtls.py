"""Self-signed TLS and a scrape login for the compose demo: `python -m monitor.devtls DIR --host perpmon`.

The compose stack (deploy/compose.yaml) runs this once, in the perpmon image, into a volume that
perpmon and Prometheus mount: a throwaway CA (its key is not kept, so nothing can issue more), a
server pair for the given names, perpmon's exporter-toolkit web config (the pair plus one bcrypt
user) and that user's random password for Prometheus' `basic_auth.password_file`. Nothing here is
committed or baked into an image; a second run keeps what exists, so restarts keep the pair.

For production use a real CA (cert-manager in Kubernetes: deploy/k8s/perpmon.yaml) instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import secrets
import sys
from pathlib import Path

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from monitor.clock import NS_PER_S, LiveClock

__all__ = ["FILES", "write_demo_tls"]

FILES = ("ca.crt", "tls.crt", "tls.key", "web-config.yml", "scrape-password")
_VALID = dt.timedelta(days=825)  # the longest validity clients accept for a server certificate


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)
        f.write(data)


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for h in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return x509.SubjectAlternativeName(names)


def write_demo_tls(
    out: Path, hosts: list[str], user: str = "prometheus", now: dt.datetime | None = None
) -> bool:
    """Write FILES into `out` (False, untouched, when they all exist already)."""
    if all((out / f).exists() for f in FILES):
        return False
    if now is None:
        now = dt.datetime.fromtimestamp(LiveClock().now_ns() / NS_PER_S, dt.UTC)
    start = now - dt.timedelta(hours=1)  # a little slack for clock skew
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "perpmon demo CA (self-signed)")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _VALID)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _VALID)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(hosts), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(24)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    out.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    _write(out / "ca.crt", ca.public_bytes(pem), 0o644)
    _write(out / "tls.crt", cert.public_bytes(pem), 0o644)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(out / "tls.key", key_pem, 0o600)
    web = (
        "# written by monitor/devtls.py for the compose demo (exporter-toolkit web config format)\n"
        f"tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"
        f"basic_auth_users:\n  {user}: '{hashed}'\n"
    )
    _write(out / "web-config.yml", web.encode(), 0o644)
    # Prometheus runs as another user in its own container: the demo volume lets it read this
    _write(out / "scrape-password", password.encode(), 0o644)
    out.chmod(0o755)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m monitor.devtls", description=__doc__.splitlines()[0])
    p.add_argument("dir", type=Path)
    p.add_argument("--host", action="append", required=True, help="a DNS name or IP the pair is for")
    p.add_argument("--user", default="prometheus")
    args = p.parse_args(argv)
    made = write_demo_tls(args.dir, args.host, args.user)
    sys.stdout.write(f"{'wrote' if made else 'kept'} the demo TLS pair and scrape login in {args.dir}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
