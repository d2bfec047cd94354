"""The notifier contract and the one place HTTP outcomes are classified.

A notifier only sends. It succeeds, or raises `RetryableDeliveryError` (keep the notification,
try later) or `PermanentDeliveryError` (retrying cannot help). The pipeline owns retry, backoff,
counters and acks (Alertmanager's `(retry bool, err)` and `Retrier.Check`).

Error reasons follow `"<label>: <detail>"`: the part before the colon is a short, bounded value
the pipeline uses as the `reason` metric label; the detail is for logs and is already redacted.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from monitor.clock import NS_PER_S
from monitor.errors import PermanentDeliveryError, RetryableDeliveryError
from monitor.notify.model import Notification
from monitor.secret import Secret

__all__ = ["Closable", "Notifier", "classify_http", "parse_retry_after", "reason_label", "url_secret_parts"]

# Timeouts and throttling say "not now", not "never" (RFC 9110 §15.5.9, RFC 6585 §4).
_RETRYABLE_4XX = frozenset({408, 425, 429})
_MAX_RETRY_AFTER_S = 3600.0  # a receiver asking for a day's silence is treated as an hour


class Notifier(Protocol):
    """Sends one Notification; see the module docstring for the error contract."""

    name: str

    async def notify(self, n: Notification) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """Notifiers holding connections implement this; the dispatcher calls it on stop."""

    async def close(self) -> None: ...


def parse_retry_after(value: str | None, now_ns: int | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds, or an HTTP-date given `now_ns`."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        if now_ns is None:
            return None
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now_ns / NS_PER_S
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), _MAX_RETRY_AFTER_S)


def classify_http(
    status: int, headers: Mapping[str, str], body: str = "", now_ns: int | None = None
) -> RetryableDeliveryError | PermanentDeliveryError | None:
    """Return None for 2xx, else the error to raise; the body never goes into the reason.

    The body of an error page may echo the request URL (and with it a token), so it is left to
    the caller to redact and log.
    """
    del body  # kept in the signature so integrations can grow body-based rules (Slack's "ok": false)
    if 200 <= status < 300:
        return None
    label = f"http_{status}"
    if status >= 500 or status in _RETRYABLE_4XX:
        retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        return RetryableDeliveryError(label, retry_after_s=parse_retry_after(retry_after, now_ns))
    return PermanentDeliveryError(label)


def reason_label(reason: str) -> str:
    """The bounded part of an error reason, for the `reason` metric label."""
    return reason.split(":", 1)[0].strip()[:40] or "unknown"


_MIN_PART = 6  # shorter fragments ("api", "hooks") are not secrets and would shred log text


def url_secret_parts(url: Secret) -> tuple[Secret, ...]:
    """The URL and each token-bearing piece of it, for `redact_text`.

    Error pages echo the path or a query value without the host, so redacting the whole URL is
    not enough: a Slack or Telegram token is a path segment, an ntfy or Discord one may be too.
    """
    raw = url.reveal()
    try:
        parts = urlsplit(raw)
    except ValueError:
        return (url,)
    pieces = {raw, parts.path, parts.query, parts.fragment, parts.netloc.rpartition("@")[0]}
    pieces.update(re.split(r"[/&=?#:@]", f"{parts.path}&{parts.query}&{parts.fragment}"))
    pieces.update(unquote(p) for p in list(pieces))
    keep = sorted((p for p in pieces if len(p) >= _MIN_PART and p.strip("/")), key=len, reverse=True)
    return tuple(Secret(p) for p in keep)
