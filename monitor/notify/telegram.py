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

from typing import Any, Unpack

import msgspec

from monitor.notify.http_notifier import HttpNotifier, HttpOptions, json_number
from monitor.notify.model import Notification
from monitor.notify.render import body, title, truncate
from monitor.notify.transport import HttpResponse
from monitor.secret import Secret

__all__ = ["TelegramNotifier"]

MAX_TEXT = 4096  # sendMessage's limit after entity parsing; we send no entities


class TelegramNotifier(HttpNotifier):
    """Send one message per notification (or per merged backlog) to `chat_id`."""

    merge_limit = 50
    default_per_minute = 20.0

    def __init__(self, name: str, url: Secret, *, chat_id: str, **options: Unpack[HttpOptions]) -> None:
        super().__init__(name, url, **options)
        self._chat_id = chat_id

    def retry_after_in_body(self, resp: HttpResponse) -> float | None:
        """Telegram puts the wait in the JSON body (`parameters.retry_after`), not always in a header."""
        return json_number(resp.text, "parameters", "retry_after")

    @staticmethod
    def payload(n: Notification, chat_id: str) -> dict[str, Any]:
        text = truncate(f"{title(n)}\n{body(n)}", MAX_TEXT)
        return {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}

    async def notify(self, n: Notification) -> None:
        await self.post(msgspec.json.encode(self.payload(n, self._chat_id)), suffix="/sendMessage")
