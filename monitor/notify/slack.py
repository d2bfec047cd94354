"""Slack incoming webhook: one attachment per notification, coloured by the top severity.

The webhook URL (`https://hooks.slack.com/services/T…/B…/secret`) is the credential. Slack
answers 200 `ok`, or 4xx with a plain-text reason (`invalid_token`, `channel_is_archived`) that
will not fix itself, or 429 with Retry-After; `classify_http` handles all three. Slack asks for
at most one message a second per webhook, so a bucket paces us and the pipeline merges bursts.

Request::

    POST {"text": "[FIRING:1] MarginRatioHigh (critical)",
          "attachments": [{"color": "#d00000", "title": "...", "text": "• FIRING critical ...",
                           "mrkdwn_in": ["text"]}]}
"""

from __future__ import annotations

from typing import Any

import msgspec

from monitor.notify.http_notifier import HttpNotifier
from monitor.notify.model import Notification
from monitor.notify.render import body, title, truncate
from monitor.records import AlertState, Severity

__all__ = ["SlackNotifier", "escape"]

MAX_TEXT = 3000  # Slack truncates long attachment text; keep the whole picture visible
COLOURS = {
    Severity.INFO: "#439fe0",
    Severity.WARNING: "#daa038",
    Severity.CRITICAL: "#d00000",
    Severity.PAGE: "#8b0000",
}
RESOLVED_COLOUR = "#2eb886"


def escape(text: str) -> str:
    """Slack's three control characters; labels must not become links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackNotifier(HttpNotifier):
    """Post to one Slack incoming webhook."""

    merge_limit = 50
    default_per_minute = 60.0

    @staticmethod
    def payload(n: Notification) -> dict[str, Any]:
        head = escape(title(n))
        firing = [a.severity for a in n.alerts if a.state is AlertState.FIRING]
        colour = COLOURS[max(firing)] if firing else RESOLVED_COLOUR
        attachment = {"color": colour, "title": head, "text": truncate(escape(body(n)), MAX_TEXT)}
        return {"text": head, "attachments": [{**attachment, "mrkdwn_in": ["text"]}]}

    async def notify(self, n: Notification) -> None:
        await self.post(msgspec.json.encode(self.payload(n)))
