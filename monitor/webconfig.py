"""The exporter-toolkit web configuration file: TLS and basic auth for /metrics, the Prometheus way.

node_exporter, blackbox_exporter and Prometheus itself take `--web.config.file`, a YAML file with
`tls_server_config` (certificate, key, client CA, client-auth policy, minimum version) and
`basic_auth_users` (bcrypt hashes). perpmon reads the same file (`[http] web_config_file`), so a
desk that already runs those exporters writes, rotates and audits one kind of file, and Prometheus
scrapes perpmon with the same `tls_config` and `basic_auth` it uses for them.

What perpmon cannot honour is refused by name rather than ignored: a security setting silently
dropped (Go cipher-suite names, a client-auth policy that requests a certificate without checking
it) would serve something weaker than the file says. Errors name the key and the file, never a
line of it: the file holds bcrypt hashes, and a key file's bytes must never reach a log.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError

__all__ = [
    "TlsServerConfig",
    "WebConfig",
    "bind_problem",
    "is_loopback",
    "load_web_config",
    "server_ssl_context",
]

_KEY = "http.web_config_file"

# exporter-toolkit's policy names → what Python's ssl module does; the two Go policies that ask for
# a certificate without verifying it authenticate nothing, so they are refused.
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNVERIFIED = ("RequestClientCert", "RequireAnyClientCert", "RequireClientCert")
_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# $2a$, $2b$, $2y$ with a two-digit cost and 53 characters of salt and digest (htpasswd -B writes $2y$)
_BCRYPT = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")
_TLS_KEYS = {
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
}
_NOT_HONOURED = {
    "cipher_suites": "Go cipher-suite names; perpmon uses Python's (OpenSSL's) secure defaults",
    "curve_preferences": "Go curve names; perpmon uses OpenSSL's defaults",
    "prefer_server_cipher_suites": "a Go knob with no OpenSSL equivalent here",
    "cert": "inline certificates; give cert_file (a file can be rotated and reloaded)",
    "key": "an inline key would put the key in this file; give key_file",
}


@dataclass(frozen=True)
class TlsServerConfig:
    cert_file: str
    key_file: str
    client_auth: ssl.VerifyMode = ssl.CERT_NONE
    client_ca_file: str | None = None
    client_allowed_sans: tuple[str, ...] = ()  # empty: any certificate the CA signed
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion | None = None


@dataclass(frozen=True)
class WebConfig:
    tls: TlsServerConfig | None = None
    # user → bcrypt hash (bytes, as bcrypt.checkpw takes it); repr off: hashes can be brute-forced offline
    users: dict[str, bytes] = field(default_factory=dict, repr=False)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def authenticates(self) -> bool:
        """Whether a client must prove who it is: a password, or a certificate the client CA signed."""
        return bool(self.users) or (self.tls is not None and self.tls.client_auth == ssl.CERT_REQUIRED)

    def describe(self) -> dict[str, object]:
        """What a log line may say about the file: the shape, never a hash or a path's contents."""
        return {
            "tls": self.tls is not None,
            "client_certificates": "off" if self.tls is None else self.tls.client_auth.name,
            "basic_auth_users": len(self.users),
        }


def _fail(why: str) -> ConfigError:
    return ConfigError(_KEY, why)


def _mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _fail(f"{where} must be a mapping of names to values")
    return value


def _string(section: dict[str, Any], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _fail(f"{where}.{key} must be a string")
    return value


def _resolve(path: str, base: Path) -> str:
    """Relative file names resolve against the web config's own folder, as exporter-toolkit does."""
    p = Path(path)
    return str(p if p.is_absolute() else base / p)


def _readable(path: str, where: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise _fail(f"{where}: cannot read {path}: {exc.strerror}") from None


def _tls(raw: object, base: Path) -> TlsServerConfig | None:
    section = _mapping(raw, "tls_server_config")
    if not section:
        return None
    for name in section:
        if name in _NOT_HONOURED:
            raise _fail(f"tls_server_config.{name} is not supported: {_NOT_HONOURED[name]}")
        if name not in _TLS_KEYS:
            raise _fail(f"tls_server_config.{name} is not a key of the web configuration file")
    cert = _string(section, "cert_file", "tls_server_config")
    key = _string(section, "key_file", "tls_server_config")
    if cert is None or key is None:
        missing = "cert_file" if cert is None else "key_file"
        raise _fail(f"tls_server_config.{missing} is missing: a server certificate and its key go together")
    policy = _string(section, "client_auth_type", "tls_server_config") or "NoClientCert"
    if policy in _UNVERIFIED:
        raise _fail(
            f"tls_server_config.client_auth_type {policy} accepts a certificate nobody verified; "
            "use RequireAndVerifyClientCert (or VerifyClientCertIfGiven) with client_ca_file"
        )
    if policy not in _CLIENT_AUTH:
        raise _fail(f"tls_server_config.client_auth_type must be one of {sorted(_CLIENT_AUTH)}")
    ca = _string(section, "client_ca_file", "tls_server_config")
    mode = _CLIENT_AUTH[policy]
    if ca is not None and mode == ssl.CERT_NONE:  # exporter-toolkit refuses this pairing too
        raise _fail("tls_server_config.client_ca_file is set without a client_auth_type that verifies")
    if ca is None and mode != ssl.CERT_NONE:
        raise _fail(f"tls_server_config.client_auth_type {policy} needs client_ca_file")
    sans = section.get("client_allowed_sans") or []
    if not isinstance(sans, list) or not all(isinstance(s, str) for s in sans):
        raise _fail("tls_server_config.client_allowed_sans must be a list of names")
    if sans and mode == ssl.CERT_NONE:
        raise _fail("tls_server_config.client_allowed_sans needs client certificates to be verified")
    versions: dict[str, ssl.TLSVersion | None] = {}
    for k, default in (("min_version", "TLS12"), ("max_version", None)):
        version: str | None = _string(section, k, "tls_server_config") or default
        if version is not None and version not in _VERSIONS:
            raise _fail(f"tls_server_config.{k} must be one of {sorted(_VERSIONS)}")
        versions[k] = None if version is None else _VERSIONS[version]
    low, high = versions["min_version"], versions["max_version"]
    if high is not None and low is not None and high < low:
        raise _fail("tls_server_config.max_version is below min_version")
    return TlsServerConfig(
        cert_file=_resolve(cert, base),
        key_file=_resolve(key, base),
        client_auth=mode,
        client_ca_file=None if ca is None else _resolve(ca, base),
        client_allowed_sans=tuple(sans),
        min_version=low or ssl.TLSVersion.TLSv1_2,
        max_version=high,
    )


def _users(raw: object) -> dict[str, bytes]:
    users: dict[str, bytes] = {}
    for user, hashed in _mapping(raw, "basic_auth_users").items():
        if ":" in user or not user:
            raise _fail(f"basic_auth_users: user name {user!r} is empty or has a colon")
        if not isinstance(hashed, str) or not _BCRYPT.match(hashed):
            # never echo the value: it may be a plain password pasted where the hash belongs
            raise _fail(f"basic_auth_users.{user} is not a bcrypt hash (htpasswd -nBC 10 '' | tr -d ':')")
        users[user] = hashed.encode()
    return users


def _headers(raw: object) -> dict[str, str]:
    section = _mapping(raw, "http_server_config")
    for key in section:
        if key not in ("headers", "http2"):
            raise _fail(f"http_server_config.{key} is not supported (headers, http2)")
    headers = _mapping(section.get("headers"), "http_server_config.headers")
    if not all(isinstance(v, str) and "\n" not in v and "\r" not in v for v in headers.values()):
        raise _fail("http_server_config.headers values must be one-line strings")
    return dict(headers)


def load_web_config(path: str) -> WebConfig:
    """Parse and check the file, and load every certificate and key it names (ConfigError otherwise).

    Loading the TLS material here means `check-config` and a SIGHUP reload refuse a key that does
    not match its certificate before the listener is touched.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise _fail(f"cannot read {path}: {why}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise _fail(f"{path} is not valid YAML{where}") from None  # no snippet: the line may hold a hash
    top = _mapping(data, "the web configuration file")
    for key in top:
        if key not in ("tls_server_config", "basic_auth_users", "http_server_config"):
            raise _fail(f"{key} is not a key of the web configuration file")
    cfg = WebConfig(
        tls=_tls(top.get("tls_server_config"), Path(path).parent),
        users=_users(top.get("basic_auth_users")),
        headers=_headers(top.get("http_server_config")),
    )
    if cfg.tls is not None:
        server_ssl_context(cfg.tls)
    return cfg


def server_ssl_context(tls: TlsServerConfig) -> ssl.SSLContext:
    """A fresh server context from the files as they are now; ConfigError names the file that failed."""
    for where, file in (("cert_file", tls.cert_file), ("key_file", tls.key_file)):
        _readable(file, f"tls_server_config.{where}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = tls.min_version
    if tls.max_version is not None:
        ctx.maximum_version = tls.max_version
    try:
        # the empty password: an encrypted key fails here instead of prompting on a terminal
        ctx.load_cert_chain(tls.cert_file, tls.key_file, password=lambda: b"")
    except ssl.SSLError as exc:
        detail = exc.reason or "PEM error; the key must not be encrypted"
        raise _fail(f"tls_server_config: certificate and key do not load as a pair ({detail})") from None
    if tls.client_ca_file is not None:
        _readable(tls.client_ca_file, "tls_server_config.client_ca_file")
        try:
            ctx.load_verify_locations(cafile=tls.client_ca_file)
        except ssl.SSLError as exc:
            raise _fail(f"tls_server_config.client_ca_file is not a PEM CA bundle ({exc.reason})") from None
    ctx.verify_mode = tls.client_auth
    return ctx


def is_loopback(host: str) -> bool:
    """Only a loopback literal or `localhost` counts: a name could resolve to anything later."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_problem(host: str, cfg: WebConfig | None, allow_insecure: bool) -> str:
    """Why serving the book on `host` with `cfg` exposes it ("" when it does not), naming the risk."""
    if allow_insecure or is_loopback(host):
        return ""
    missing = []
    if cfg is None or cfg.tls is None:
        missing.append("no TLS: positions, balances and any password cross the network in clear text")
    if cfg is None or not cfg.authenticates:
        missing.append(
            "no authentication (basic_auth_users or verified client certificates): anyone who reaches "
            "the port reads every position, balance and liquidation price"
        )
    if not missing:
        return ""
    return (
        f"binding {host} beyond loopback with "
        + "; ".join(missing)
        + ". Give http.web_config_file with tls_server_config and basic_auth_users,"
        " or set http.allow_insecure_bind = true to accept the risk"
    )
