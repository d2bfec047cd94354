"""ntfy: a push to a topic URL, severity as ntfy priority, so phones ring for pages only.

The topic URL (`https://ntfy.sh/<topic>`) is the credential: anyone who knows the topic can
read it, so it is a Secret like a webhook token. The message is the plain body; the title,
priority, tags and click URL go in headers.

Why the title is the alert itself (`CRITICAL: degen BTCUSDT is 4.92 % from liquidation`): it is
the line a lock screen shows. HTTP headers are not UTF-8, so a title with `σ` or `·` is sent as an
RFC 2047 encoded word (`=?UTF-8?B?…?=`), which ntfy decodes (server 2.4.0 and later). The body is
the context a line each, within 4,096 bytes (ntfy turns a longer message into an attachment); a
group that does not fit is one line per alert, cut with a count of those left out.

Request::

    POST /<topic>   Title: =?UTF-8?B?…?=   Priority: 4   Tags: rotating_light,binance,degen
                    Click: https://perpmon.example/status   (when the alert carries a url)
    🔴 FIRING critical LiquidationDistance [binance degen BTCUSDT]: degen BTCUSDT is 4.92 % …
       Mark: 36,512.3
"""

from __future__ import annotations

import base64

from monitor.notify.http_notifier import HttpNotifier
from monitor.notify.model import Notification
from monitor.notify.render import fit, notice, ordered, truncate, utf8_size
from monitor.records import AlertState, Severity

__all__ = ["NtfyNotifier", "header_text"]

MAX_BODY = 4096  # bytes: ntfy turns longer messages into attachments (a file, not a readable push)
MAX_TITLE = 200  # characters: a lock screen shows one or two lines of it
PRIORITY = {Severity.INFO: "2", Severity.WARNING: "3", Severity.CRITICAL: "4", Severity.PAGE: "5"}
TAGS = {
    Severity.INFO: "information_source",
    Severity.WARNING: "warning",
    Severity.CRITICAL: "rotating_light",
    Severity.PAGE: "rotating_light,sos",
}
_TAG_LABELS = ("venue", "account", "symbol", "asset")


def header_text(text: str) -> str:
    """ASCII as is; anything else as an RFC 2047 encoded word, which ntfy decodes."""
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def _title(n: Notification) -> str:
    return truncate(notice(n), MAX_TITLE)


class NtfyNotifier(HttpNotifier):
    """Publish to one ntfy topic (paced only if the receiver sets `messages_per_minute`)."""

    merge_limit = 20

    @staticmethod
    def headers(n: Notification) -> dict[str, str]:
        alerts = ordered(n.alerts)
        firing = [a.severity for a in alerts if a.state is AlertState.FIRING]
        where = {a.labels[k] for a in alerts[:3] for k in _TAG_LABELS if a.labels.get(k)}
        extra = [t for t in sorted(where) if t.isascii() and "," not in t]
        if not firing:
            out = {
                "Title": header_text(_title(n)),
                "Priority": "2",
                "Tags": ",".join(["white_check_mark", *extra]),
            }
        else:
            top = max(firing)
            out = {
                "Title": header_text(_title(n)),
                "Priority": PRIORITY[top],
                "Tags": ",".join([TAGS[top], *extra]),
            }
        # the page to look closer (the context step's `url`), else the first alert's runbook link
        links = [a.annotations.get(k, "") for k in ("url", "runbook") for a in alerts]
        url = next((u for u in links if u.startswith(("http://", "https://"))), "")
        if url.isascii():
            out["Click"] = url
        return out

    @staticmethod
    def message(n: Notification) -> str:
        return fit(n, MAX_BODY, utf8_size)

    async def notify(self, n: Notification) -> None:
        data = self.message(n).encode("utf-8")
        headers = {**self.headers(n), "Content-Type": "text/plain; charset=utf-8"}
        await self.post(data, headers=headers, json_content=False)
