"""Exporter-toolkit web config files for tests: the throwaway PKI's server pair and bcrypt users."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import yaml

from tests.support.tls import Pki

__all__ = ["hash_password", "write_web_config"]


def hash_password(password: str) -> str:
    """Cost 4 (bcrypt's minimum, which the file format accepts): the tests check logic, not strength."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


def write_web_config(
    path: Path,
    pki: Pki | None,
    users: dict[str, str] | None = None,
    *,
    client_auth: str | None = None,
    **tls: object,
) -> Path:
    """Write a web config with TLS from `pki` (None: no TLS) and `users` (name → plain password)."""
    data: dict[str, object] = {}
    if pki is not None:
        section: dict[str, object] = {"cert_file": str(pki.server_cert), "key_file": str(pki.server_key)}
        if client_auth is not None:
            section |= {"client_auth_type": client_auth, "client_ca_file": str(pki.ca)}
        data["tls_server_config"] = section | tls
    if users:
        data["basic_auth_users"] = {u: hash_password(p) for u, p in users.items()}
    path.write_text(yaml.safe_dump(data))
    return path
