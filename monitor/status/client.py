"""`perpmon status`: the status page of a running daemon as text, for an ssh session.

It reads /status.json (the page's own record) and renders it with the same columns and formats
as the HTML page. A daemon that does not answer is exit 1 with the reason on stderr: a status
command that printed nothing, or an old page, would read as all clear.

A daemon behind its web config (TLS, basic auth, client certificates; README "Securing it") is
read with `--ca-file`, `--user` and `--cert-file/--key-file`. The password comes from
PERPMON_STATUS_PASSWORD or a prompt, never from the command line, where `ps` would show it.
"""

from __future__ import annotations

import base64
import getpass
import os
import ssl
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

import msgspec

from monitor.status.model import StatusPage
from monitor.status.text import render_text

__all__ = ["DEFAULT_URL", "PASSWORD_ENV", "Login", "fetch_status", "run_status"]

DEFAULT_URL = "http://127.0.0.1:9108"
PASSWORD_ENV = "PERPMON_STATUS_PASSWORD"


@dataclass(frozen=True)
class Login:
    """How to reach a daemon behind its web config; the defaults reach a plain loopback one."""

    user: str | None = None
    password: str = ""
    ca_file: str | None = None  # verify the daemon's certificate against this CA (self-signed setups)
    cert_file: str | None = None  # a client certificate, when the daemon requires one
    key_file: str | None = None

    def __repr__(self) -> str:  # the password never reaches a traceback or a log
        return f"Login(user={self.user!r}, ca_file={self.ca_file!r}, cert_file={self.cert_file!r})"


def _context(login: Login) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=login.ca_file)
    if login.cert_file:
        ctx.load_cert_chain(login.cert_file, login.key_file)
    return ctx


def fetch_status(url: str, limit: int, login: Login = Login(), timeout_s: float = 10.0) -> StatusPage:
    req = urllib.request.Request(f"{url.rstrip('/')}/status.json?limit={limit}")
    if login.user is not None:
        token = base64.b64encode(f"{login.user}:{login.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    ctx = _context(login) if url.startswith("https:") else None
    with urllib.request.urlopen(req, timeout=timeout_s, context=ctx) as r:
        return msgspec.json.decode(r.read(), type=StatusPage)


def login_from(user: str | None, ca_file: str | None, cert_file: str | None, key_file: str | None) -> Login:
    """The login the command line asks for; the password from the environment, else a prompt."""
    password = ""
    if user is not None:
        password = os.environ.get(PASSWORD_ENV) or (
            getpass.getpass(f"password for {user}: ") if sys.stdin.isatty() else ""
        )
    return Login(user=user, password=password, ca_file=ca_file, cert_file=cert_file, key_file=key_file)


def run_status(url: str, limit: int, login: Login = Login()) -> int:
    """Print the page; 0 when the daemon answered, 1 when it did not (or answered nonsense)."""
    try:
        page = fetch_status(url, limit, login)
    except urllib.error.HTTPError as exc:
        hint = f" (--user, and the password in {PASSWORD_ENV})" if exc.code == 401 else ""
        print(f"perpmon: {url} answered HTTP {exc.code} {exc.reason}{hint}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:  # ssl.SSLError is an OSError
        reason = getattr(exc, "reason", exc)
        print(f"perpmon: no daemon answers at {url}: {reason}", file=sys.stderr)
        return 1
    except msgspec.DecodeError as exc:  # a different server on the port, or a different version
        print(f"perpmon: {url}/status.json is not a perpmon status page: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render_text(page))
    return 0
