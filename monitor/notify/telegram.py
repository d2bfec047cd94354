"""Telegram Bot API `sendMessage`: plain text to one chat, paced under the group rate limit.

The receiver's URL variable holds the bot API base with the token,
`https://api.telegram.org/bot<token>` (so tests and proxies can point elsewhere); the token is a
path segment and is redacted from every error. Telegram allows ~20 messages a minute in a group:
a local token bucket keeps us under it, and while we wait the pipeline merges the backlog into
one message (`merge_limit`).

Request and failure reply::

    POST /bot<token>/sendMessage {"chat_id": "-1001234", "text": "[FIRING:1] …",
                                  "disable_web_page_preview": true}
    429 {"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 35",
         "parameters": {"retry_after": 35}}
"""

from __future__ import annotations

from typing import Any

import msgspec

from monitor.clock import Clock
from monitor.errors import RetryableDeliveryError
from monitor.notify.base import classify_http
from monitor.notify.model import Notification
from monitor.notify.ratelimit import RateLimiter
from monitor.notify.render import body, title, truncate
from monitor.notify.transport import HttpResponse, HttpTransport, SessionFactory
from monitor.secret import Secret

__all__ = ["TelegramNotifier"]

MAX_TEXT = 4096  # sendMessage's limit after entity parsing; we send no entities


def _retry_after(resp: HttpResponse) -> float | None:
    """Telegram puts the wait in the JSON body (`parameters.retry_after`), not always in a header."""
    try:
        data: Any = msgspec.json.decode(resp.text)
        value = data["parameters"]["retry_after"]
    except (msgspec.DecodeError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


class TelegramNotifier:
    """Send one message per notification (or per merged backlog) to `chat_id`."""

    merge_limit = 50

    def __init__(
        self,
        name: str,
        url: Secret,
        *,
        chat_id: str,
        clock: Clock,
        session_factory: SessionFactory | None = None,
        timeout_s: float = 10.0,
        per_minute: float = 20.0,
    ) -> None:
        self.name = name
        self._chat_id = chat_id
        self._clock = clock
        self._http = HttpTransport(url, timeout_s=timeout_s, session_factory=session_factory)
        self._limit = RateLimiter(clock, per_minute)

    def __repr__(self) -> str:
        return f"TelegramNotifier({self.name!r}, {self._http.redacted_url()})"

    async def close(self) -> None:
        await self._http.close()

    @staticmethod
    def payload(n: Notification, chat_id: str) -> dict[str, Any]:
        text = truncate(f"{title(n)}\n{body(n)}", MAX_TEXT)
        return {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}

    async def notify(self, n: Notification) -> None:
        self._limit.take()
        data = msgspec.json.encode(self.payload(n, self._chat_id))
        resp = await self._http.post(data=data, headers={}, suffix="/sendMessage")
        err = classify_http(resp.status, resp.headers, resp.text, now_ns=self._clock.now_ns())
        if err is None:
            return
        self._http.rejected(self.name, resp)
        if isinstance(err, RetryableDeliveryError) and err.retry_after_s is None:
            err.retry_after_s = _retry_after(resp)
        raise err
