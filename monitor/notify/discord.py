"""Discord webhook: one embed per alert (colour by severity, context as fields), mentions disabled.

The webhook URL (`https://discord.com/api/webhooks/<id>/<token>`) is the credential. Discord
answers 204, or 429 with `retry_after` (seconds) in the JSON body and a Retry-After header.
`allowed_mentions` is empty so a label value can never ping `@everyone`.

Discord's limits: content 2,000 characters; at most 10 embeds and 6,000 characters across them;
an embed's title 256, description 4,096, 25 fields of name 256 and value 1,024. Up to
`FULL_ALERTS` alerts get an embed each; a larger group (or one over the 6,000) is one embed with a
line per alert, cut with a count of the alerts left out.

Request::

    POST {"content": "**CRITICAL: degen BTCUSDT is 4.92 % from liquidation (critical below 5.00 %)**",
          "embeds": [{"title": "🔴 degen BTCUSDT is 4.92 % from liquidation", "color": 13631488,
                      "description": "firing critical · binance degen BTCUSDT",
                      "fields": [{"name": "Mark", "value": "36,512.3", "inline": true}, ...],
                      "timestamp": "2023-11-14T22:13:20.000Z"}],
          "allowed_mentions": {"parse": []}}
"""

from __future__ import annotations

from typing import Any

import msgspec

from monitor.notify.http_notifier import HttpNotifier, json_number
from monitor.notify.model import Notification
from monitor.notify.render import (
    alert_line,
    context_pairs,
    emoji,
    headline,
    notice,
    ordered,
    rfc3339,
    title,
    truncate,
    where,
)
from monitor.notify.slack import COLOURS, RESOLVED_COLOUR
from monitor.notify.transport import HttpResponse
from monitor.records import AlertEvent, AlertState

__all__ = ["DiscordNotifier", "embeds"]

MAX_CONTENT = 2000  # Discord rejects longer content with a 400
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000  # characters across every embed of a message
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELD_VALUE = 1024
FULL_ALERTS = 5  # up to this many alerts an embed each; more: one embed, a line each


def _colour(a: AlertEvent) -> int:
    return int((COLOURS[a.severity] if a.state is AlertState.FIRING else RESOLVED_COLOUR)[1:], 16)


def _embed(a: AlertEvent) -> dict[str, Any]:
    e: dict[str, Any] = {
        "title": truncate(f"{emoji(a)} {headline(a)}", MAX_TITLE),
        "description": truncate(f"{a.state.value} {a.severity.label} · {where(a)}", MAX_DESCRIPTION),
        "color": _colour(a),
        "timestamp": rfc3339(a.event_ns),
        "footer": {"text": a.labels.get("alertname", "?")},
    }
    fields = [
        {"name": label, "value": truncate(text, MAX_FIELD_VALUE), "inline": True}
        for label, text in context_pairs(a)
    ]
    if a.annotations.get("runbook"):
        fields.append({"name": "Runbook", "value": truncate(a.annotations["runbook"], MAX_FIELD_VALUE)})
    if fields:
        e["fields"] = fields[:25]
    if a.annotations.get("url"):
        e["url"] = a.annotations["url"]
    return e


def _size(e: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6,000: title, description, footer, field names and values."""
    fields = e.get("fields", [])
    return (
        len(e.get("title", ""))
        + len(e.get("description", ""))
        + len(e.get("footer", {}).get("text", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def embeds(n: Notification) -> list[dict[str, Any]]:
    """The message's embeds within Discord's limits (see the module docstring)."""
    alerts = ordered(n.alerts)
    if not alerts:
        return []
    if len(alerts) <= FULL_ALERTS:
        out = [_embed(a) for a in alerts]
        if sum(_size(e) for e in out) <= MAX_EMBED_TOTAL:
            return out
    top = alerts[0]
    lines = truncate("\n".join(alert_line(a) for a in alerts), MAX_DESCRIPTION, unit="alerts")
    return [
        {
            "title": truncate(title(n), MAX_TITLE),
            "description": lines,
            "color": _colour(top),
            "timestamp": rfc3339(max(a.event_ns for a in alerts)),
        }
    ][:MAX_EMBEDS]


class DiscordNotifier(HttpNotifier):
    """Post to one Discord channel webhook."""

    merge_limit = 50
    default_per_minute = 30.0

    def retry_after_in_body(self, resp: HttpResponse) -> float | None:
        return json_number(resp.text, "retry_after")

    @staticmethod
    def payload(n: Notification) -> dict[str, Any]:
        content = truncate(f"**{notice(n)}**", MAX_CONTENT)  # what a phone's notification shows
        return {"content": content, "embeds": embeds(n), "allowed_mentions": {"parse": []}}

    async def notify(self, n: Notification) -> None:
        await self.post(msgspec.json.encode(self.payload(n)))
