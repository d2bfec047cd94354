"""Telegram Bot API `sendMessage`: HTML to one chat, paced under the group rate limit.

The receiver's URL variable holds the bot API base with the token,
`https://api.telegram.org/bot<token>` (so tests and proxies can point elsewhere); the token is a
path segment and is redacted from every error. Telegram allows ~20 messages a minute in a group:
a local token bucket keeps us under it, and while we wait the pipeline merges the backlog into
one message (`merge_limit`).

Why HTML (`parse_mode`): the summary in bold and the context a line each read at a glance on a
lock screen; every value is escaped (`&`, `<`, `>`), so a label can never open a tag. The limit is
4,096 characters of text after entity parsing; we count the markup too, so we stay under it, and
a group that does not fit is one line per alert, cut at a line (never inside a tag).

Request and failure reply::

    POST /bot<token>/sendMessage {"chat_id": "-1001234", "parse_mode": "HTML",
                                  "text": "🔴 <b>CRITICAL: degen BTCUSDT is 4.92 % …</b>\n<i>…</i>",
                                  "disable_web_page_preview": true}
    429 {"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 35",
         "parameters": {"retry_after": 35}}
"""

from __future__ import annotations

from typing import Any, Unpack

import msgspec

from monitor.notify.http_notifier import HttpNotifier, HttpOptions, json_number
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
from monitor.notify.transport import HttpResponse
from monitor.records import AlertEvent
from monitor.secret import Secret

__all__ = ["TelegramNotifier", "escape", "html"]

MAX_TEXT = 4096  # sendMessage's limit after entity parsing (we count the markup too)


def escape(text: str) -> str:
    """The three characters Telegram's HTML mode requires escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _block(a: AlertEvent, single: bool) -> list[str]:
    lines = [] if single else [f"{emoji(a)} <b>{escape(headline(a))}</b>"]
    name = escape(a.labels.get("alertname", "?"))
    lines.append(f"<i>{a.state.value} {a.severity.label} · {name} · {escape(where(a))}</i>")
    lines += [f"{escape(label)}: <code>{escape(text)}</code>" for label, text in context_pairs(a)]
    for key, label in (("url", "open perpmon"), ("runbook", "runbook"))[0 if single else 1 :]:
        link = a.annotations.get(key, "")
        if link.startswith(("http://", "https://")):
            lines.append(f'<a href="{escape(link)}">{label}</a>')
    return lines


def html(n: Notification) -> str:
    """The message text: full blocks when they fit, else a line per alert (see the module docstring)."""
    alerts = ordered(n.alerts)
    single = len(alerts) == 1
    # the first line is what a lock screen shows: the alert itself, or the group's title
    head = f"{emoji(alerts[0]) + ' ' if single else ''}<b>{escape(notice(n) if single else title(n))}</b>\n"
    url = next((a.annotations["url"] for a in alerts if a.annotations.get("url", "").startswith("http")), "")
    tail = f'\n\n<a href="{escape(url)}">open perpmon</a>' if url and not single else ""
    full = head + "\n\n".join("\n".join(_block(a, single)) for a in alerts) + tail
    if len(full) <= MAX_TEXT:
        return full
    cut = truncate(
        head + "\n".join(escape(alert_line(a)) for a in alerts), MAX_TEXT - len(tail), unit="alerts"
    )
    return cut + tail


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
        return {"chat_id": chat_id, "text": html(n), "parse_mode": "HTML", "disable_web_page_preview": True}

    async def notify(self, n: Notification) -> None:
        await self.post(msgspec.json.encode(self.payload(n, self._chat_id)), suffix="/sendMessage")
