"""Slack incoming webhook: Block Kit in one attachment coloured by the top severity.

The webhook URL (`https://hooks.slack.com/services/T…/B…/secret`) is the credential. Slack
answers 200 `ok`, or 4xx with a plain-text reason (`invalid_token`, `channel_is_archived`) that
will not fix itself, or 429 with Retry-After; `classify_http` handles all three. Slack asks for
at most one message a second per webhook, so a bucket paces us and the pipeline merges bursts.

Why blocks: a header with the alert, a section whose fields are the context (mark, LP, distance,
margin ratio, top-up) and a button to look closer read at a glance on a phone. Slack's limits: 50
blocks a message, a header's text 150 characters, a section's text 3,000, 10 fields of 2,000. A
message of up to `FULL_ALERTS` alerts has a section per alert; a larger group is one section of
one line per alert, cut with a count of the alerts left out.

Request::

    POST {"text": "CRITICAL: degen BTCUSDT is 4.92 % from liquidation (critical below 5.00 %)",
          "attachments": [{"color": "#d00000", "fallback": "...", "blocks": [
              {"type": "header", "text": {"type": "plain_text", "text": "🔴 ..."}},
              {"type": "section", "text": {"type": "mrkdwn", "text": "*degen BTCUSDT is 4.92 % ...*"},
               "fields": [{"type": "mrkdwn", "text": "*Mark*\\n36,512.3"}, ...]},
              {"type": "actions", "elements": [{"type": "button", "url": "...", ...}]}]}]}
"""

from __future__ import annotations

from typing import Any

import msgspec

from monitor.notify.http_notifier import HttpNotifier
from monitor.notify.model import Notification
from monitor.notify.render import (
    alert_line,
    context_pairs,
    emoji,
    headline,
    notice,
    ordered,
    title,
    truncate,
    where,
)
from monitor.records import AlertEvent, AlertState, Severity

__all__ = ["SlackNotifier", "escape"]

MAX_TEXT = 3000  # a section's text
MAX_HEADER = 150  # a header block's plain text
MAX_FIELDS = 10  # fields per section
MAX_BLOCKS = 50
FULL_ALERTS = 10  # up to this many alerts: a section each; more: one line each
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


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _section(a: AlertEvent, single: bool) -> list[dict[str, Any]]:
    head = f"{emoji(a)} *{escape(headline(a))}*"
    if not single:  # the header names a lone alert already
        head += f"\n{a.state.value} {a.severity.label} · {escape(where(a))}"
    fields = [_mrkdwn(f"*{label}*\n{escape(text)}") for label, text in context_pairs(a)][:MAX_FIELDS]
    section: dict[str, Any] = {"type": "section", "text": _mrkdwn(truncate(head, MAX_TEXT))}
    if fields:
        section["fields"] = fields
    blocks = [section]
    notes = (
        [f"<{a.annotations['runbook']}|runbook>"]
        if a.annotations.get("runbook", "").startswith("http")
        else []
    )
    notes += [f"alert `{escape(a.labels.get('alertname', '?'))}`"]
    blocks.append({"type": "context", "elements": [_mrkdwn(" · ".join(notes))]})
    return blocks


def blocks(n: Notification) -> list[dict[str, Any]]:
    """The message's blocks within Slack's limits (see the module docstring)."""
    head = truncate(title(n), MAX_HEADER)
    out: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": head}}]
    alerts = ordered(n.alerts)
    if len(alerts) <= FULL_ALERTS:
        for a in alerts:
            out += _section(a, single=len(alerts) == 1)
    else:
        lines = "\n".join(escape(alert_line(a)) for a in alerts)
        out.append({"type": "section", "text": _mrkdwn(truncate(lines, MAX_TEXT, unit="alerts"))})
    url = next((a.annotations["url"] for a in alerts if a.annotations.get("url")), "")
    if url:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open perpmon"}, "url": url}
        out.append({"type": "actions", "elements": [button]})
    return out[:MAX_BLOCKS]


class SlackNotifier(HttpNotifier):
    """Post to one Slack incoming webhook."""

    merge_limit = 50
    default_per_minute = 60.0

    @staticmethod
    def payload(n: Notification) -> dict[str, Any]:
        push = escape(notice(n))  # what a phone's notification shows
        firing = [a.severity for a in n.alerts if a.state is AlertState.FIRING]
        colour = COLOURS[max(firing)] if firing else RESOLVED_COLOUR
        attachment = {"color": colour, "fallback": truncate(push, MAX_TEXT), "blocks": blocks(n)}
        return {"text": truncate(push, MAX_TEXT), "attachments": [attachment]}

    async def notify(self, n: Notification) -> None:
        await self.post(msgspec.json.encode(self.payload(n)))
