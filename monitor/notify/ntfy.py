"""ntfy: a push to a topic URL, severity as ntfy priority, so phones ring for pages only.

The topic URL (`https://ntfy.sh/<topic>`) is the credential: anyone who knows the topic can
read it, so it is a Secret like a webhook token. The message is the plain body; the title,
priority and tags go in headers (ASCII only: our titles are built from ASCII alert names).

Request::

    POST /<topic>   Title: [FIRING:1] MarginRatioHigh (page)   Priority: 5   Tags: rotating_light
    • FIRING page MarginRatioHigh [venue=binance account=desk1 symbol=BTCUSDT] ...
"""

from __future__ import annotations

from monitor.notify.http_notifier import HttpNotifier
from monitor.notify.model import Notification
from monitor.notify.render import body, title, truncate, utf8_size
from monitor.records import AlertState, Severity

__all__ = ["NtfyNotifier"]

MAX_BODY = 4096  # bytes: ntfy turns longer messages into attachments (a file, not a readable push)
PRIORITY = {Severity.INFO: "2", Severity.WARNING: "3", Severity.CRITICAL: "4", Severity.PAGE: "5"}
TAGS = {
    Severity.INFO: "information_source",
    Severity.WARNING: "warning",
    Severity.CRITICAL: "rotating_light",
    Severity.PAGE: "rotating_light,sos",
}


class NtfyNotifier(HttpNotifier):
    """Publish to one ntfy topic (paced only if the receiver sets `messages_per_minute`)."""

    merge_limit = 20

    @staticmethod
    def headers(n: Notification) -> dict[str, str]:
        safe_title = title(n).encode("ascii", "replace").decode("ascii")  # HTTP headers are not UTF-8
        firing = [a.severity for a in n.alerts if a.state is AlertState.FIRING]
        if not firing:
            return {"Title": safe_title, "Priority": "2", "Tags": "white_check_mark"}
        top = max(firing)
        return {"Title": safe_title, "Priority": PRIORITY[top], "Tags": TAGS[top]}

    async def notify(self, n: Notification) -> None:
        data = truncate(body(n), MAX_BODY, utf8_size).encode("utf-8")
        headers = {**self.headers(n), "Content-Type": "text/plain; charset=utf-8"}
        await self.post(data, headers=headers, json_content=False)
