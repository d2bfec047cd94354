"""What every HTTP integration shares, so that each notifier file holds only its payload.

Slack, Discord, Telegram, ntfy, the generic webhook and Alertmanager differ in the request they
build and, for two of them, in where a 429 says how long to wait. They must not differ in pacing,
classifying a response, logging a rejection or keeping the URL out of `repr`: one copy of that
means a fix (say, to redaction) reaches every receiver at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Required, TypedDict

import msgspec

from monitor.clock import Clock
from monitor.errors import RetryableDeliveryError
from monitor.notify.base import classify_http
from monitor.notify.model import Notification
from monitor.notify.ratelimit import RateLimiter
from monitor.notify.transport import HttpResponse, HttpTransport, SessionFactory
from monitor.secret import Secret

__all__ = ["HttpNotifier", "HttpOptions", "json_number"]


class HttpOptions(TypedDict, total=False):
    """The keyword arguments every HTTP notifier takes (`build_notifiers` fills them from config)."""

    clock: Required[Clock]
    session_factory: SessionFactory | None
    timeout_s: float
    per_minute: float | None  # None: the integration's `default_per_minute`


def json_number(text: str, *path: str) -> float | None:
    """The number at `path` in a JSON body (Discord's `retry_after`), or None if it is not there."""
    try:
        value: Any = msgspec.json.decode(text)
        for key in path:
            value = value[key]
    except (msgspec.DecodeError, KeyError, TypeError, IndexError):
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class HttpNotifier:
    """Base of the HTTP notifiers: paced POST to a secret URL, classified, rejections logged redacted.

    `default_per_minute` paces a receiver that throttles senders (None: no pacing unless the
    receiver's `messages_per_minute` asks for it); while the bucket is empty the pipeline merges the
    backlog, up to `merge_limit` rows, into one message.
    """

    merge_limit: ClassVar[int] = 1
    default_per_minute: ClassVar[float | None] = None

    def __init__(
        self,
        name: str,
        url: Secret,
        *,
        clock: Clock,
        session_factory: SessionFactory | None = None,
        timeout_s: float = 10.0,
        per_minute: float | None = None,
    ) -> None:
        self.name = name
        self._clock = clock
        self._http = HttpTransport(url, timeout_s=timeout_s, session_factory=session_factory)
        rate = per_minute if per_minute is not None else self.default_per_minute
        self._limit = RateLimiter(clock, rate) if rate is not None else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self._http.redacted_url()})"

    async def close(self) -> None:
        await self._http.close()

    async def notify(self, n: Notification) -> None:
        """Build the integration's request and `post` it; every subclass defines this."""
        raise NotImplementedError

    def retry_after_in_body(self, resp: HttpResponse) -> float | None:
        """Seconds to wait that the receiver put in a throttled reply's body instead of a header."""
        del resp
        return None

    async def post(
        self,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        suffix: str = "",
        json_content: bool = True,
    ) -> None:
        """Send once; return on 2xx, else raise the classified (and redacted) delivery error."""
        if self._limit is not None:
            self._limit.take()
        resp = await self._http.post(
            data=data, headers=headers or {}, suffix=suffix, json_content=json_content
        )
        err = classify_http(resp.status, resp.headers, resp.text, now_ns=self._clock.now_ns())
        if err is None:
            return
        self._http.rejected(self.name, resp)
        if isinstance(err, RetryableDeliveryError) and err.retry_after_s is None:
            err.retry_after_s = self.retry_after_in_body(resp)
        raise err
