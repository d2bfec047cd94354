"""`perpmon status`: the status page of a running daemon as text, for an ssh session.

It reads /status.json (the page's own record) and renders it with the same columns and formats
as the HTML page. A daemon that does not answer is exit 1 with the reason on stderr: a status
command that printed nothing, or an old page, would read as all clear.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

import msgspec

from monitor.status.model import StatusPage
from monitor.status.text import render_text

__all__ = ["DEFAULT_URL", "fetch_status", "run_status"]

DEFAULT_URL = "http://127.0.0.1:9108"


def fetch_status(url: str, limit: int, timeout_s: float = 10.0) -> StatusPage:
    with urllib.request.urlopen(f"{url.rstrip('/')}/status.json?limit={limit}", timeout=timeout_s) as r:
        return msgspec.json.decode(r.read(), type=StatusPage)


def run_status(url: str, limit: int) -> int:
    """Print the page; 0 when the daemon answered, 1 when it did not (or answered nonsense)."""
    try:
        page = fetch_status(url, limit)
    except urllib.error.HTTPError as exc:
        print(f"perpmon: {url} answered HTTP {exc.code} ({exc.reason})", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"perpmon: no daemon answers at {url}: {reason}", file=sys.stderr)
        return 1
    except msgspec.DecodeError as exc:  # a different server on the port, or a different version
        print(f"perpmon: {url}/status.json is not a perpmon status page: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render_text(page))
    return 0
