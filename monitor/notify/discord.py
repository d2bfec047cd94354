"""Discord webhook: plain content, mentions disabled, paced under the per-webhook limit.

The webhook URL (`https://discord.com/api/webhooks/<id>/<token>`) is the credential. Discord
answers 204, or 429 with `retry_after` (seconds) in the JSON body and a Retry-After header.
`allowed_mentions` is empty so a label value can never ping `@everyone`.

Request::

    POST {"content": "**[FIRING:1] MarginRatioHigh (critical)**\\n• FIRING critical ...",
          "allowed_mentions": {"parse": []}}
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

__all__ = ["DiscordNotifier"]

MAX_CONTENT = 2000  # Discord rejects longer content with a 400


def _retry_after(resp: HttpResponse) -> float | None:
    try:
        data: Any = msgspec.json.decode(resp.text)
        value = data["retry_after"]
    except (msgspec.DecodeError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


class DiscordNotifier:
    """Post to one Discord channel webhook."""

    merge_limit = 50

    def __init__(
        self,
        name: str,
        url: Secret,
        *,
        clock: Clock,
        session_factory: SessionFactory | None = None,
        timeout_s: float = 10.0,
        per_minute: float = 30.0,
    ) -> None:
        self.name = name
        self._clock = clock
        self._http = HttpTransport(url, timeout_s=timeout_s, session_factory=session_factory)
        self._limit = RateLimiter(clock, per_minute)

    def __repr__(self) -> str:
        return f"DiscordNotifier({self.name!r}, {self._http.redacted_url()})"

    async def close(self) -> None:
        await self._http.close()

    @staticmethod
    def payload(n: Notification) -> dict[str, Any]:
        content = truncate(f"**{title(n)}**\n{body(n)}", MAX_CONTENT)
        return {"content": content, "allowed_mentions": {"parse": []}}

    async def notify(self, n: Notification) -> None:
        self._limit.take()
        resp = await self._http.post(data=msgspec.json.encode(self.payload(n)), headers={})
        err = classify_http(resp.status, resp.headers, resp.text, now_ns=self._clock.now_ns())
        if err is None:
            return
        self._http.rejected(self.name, resp)
        if isinstance(err, RetryableDeliveryError) and err.retry_after_s is None:
            err.retry_after_s = _retry_after(resp)
        raise err
