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

from monitor.notify.http_notifier import HttpNotifier, json_number
from monitor.notify.model import Notification
from monitor.notify.render import body, title, truncate
from monitor.notify.transport import HttpResponse

__all__ = ["DiscordNotifier"]

MAX_CONTENT = 2000  # Discord rejects longer content with a 400


class DiscordNotifier(HttpNotifier):
    """Post to one Discord channel webhook."""

    merge_limit = 50
    default_per_minute = 30.0

    def retry_after_in_body(self, resp: HttpResponse) -> float | None:
        return json_number(resp.text, "retry_after")

    @staticmethod
    def payload(n: Notification) -> dict[str, Any]:
        content = truncate(f"**{title(n)}**\n{body(n)}", MAX_CONTENT)
        return {"content": content, "allowed_mentions": {"parse": []}}

    async def notify(self, n: Notification) -> None:
        await self.post(msgspec.json.encode(self.payload(n)))
