"""Text for humans from a Notification: titles, alert blocks and timestamps, with no I/O.

Every chat integration (console, Slack, Telegram, …) renders through here so a desk reads the
same words everywhere, the way Alertmanager's default templates are shared. The words come from
the annotations `monitor/rules/context.py` wrote on the tick (`value_text`, `position`, `mark`,
`distance`, …): a number is formatted once, where its unit is known, never here.

Two forms: `full` (an alert's summary and then one line per context fact, for a message about a
few alerts) and `compact` (one line per alert, for a group that would not fit the channel
otherwise). `fit` picks the first that stays within a channel's limit and cuts the compact one at
a line boundary when even that is too long, saying how many alerts were left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from monitor.clock import NS_PER_S
from monitor.notify.model import Notification
from monitor.records import AlertEvent, AlertState, Severity
from monitor.rules.context import CONTEXT_FIELDS

__all__ = [
    "ZERO_TIME",
    "alert_line",
    "body",
    "compact_body",
    "context_pairs",
    "emoji",
    "fit",
    "headline",
    "notice",
    "ordered",
    "rfc3339",
    "title",
    "truncate",
    "utf8_size",
    "where",
]

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert still firing
_IDENTITY = ("venue", "account", "symbol", "side", "asset", "stream", "scenario", "method", "confidence")
_EMOJI = {Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.CRITICAL: "🔴", Severity.PAGE: "🚨"}
RESOLVED_EMOJI = "✅"


def rfc3339(ns: int | None) -> str:
    """UTC with millisecond precision and a `Z`, as Alertmanager writes startsAt/endsAt."""
    if ns is None:
        return ZERO_TIME
    secs, rem = divmod(ns, NS_PER_S)
    t = dt.datetime.fromtimestamp(secs, tz=dt.UTC).replace(microsecond=rem // 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rem // 1_000_000:03d}Z"


def ordered(alerts: Sequence[AlertEvent]) -> list[AlertEvent]:
    """Firing first, most severe first, then by name and place: what to act on is what a cut message
    still shows, and a long group reads in an order a person can scan."""
    return sorted(
        alerts,
        key=lambda a: (
            a.state is not AlertState.FIRING,
            -a.severity,
            a.labels.get("alertname", ""),
            where(a),
        ),
    )


def where(a: AlertEvent) -> str:
    """`binance degen BTCUSDT`: the alert's identity labels, values only (one-way `BOTH` left out)."""
    values = [
        a.labels[k] for k in _IDENTITY if a.labels.get(k) and not (k == "side" and a.labels[k] == "BOTH")
    ]
    if a.labels.get("figure"):
        values.insert(0, a.labels["figure"])
    return " ".join(values)


def emoji(a: AlertEvent) -> str:
    return _EMOJI[a.severity] if a.state is AlertState.FIRING else RESOLVED_EMOJI


def title(n: Notification) -> str:
    """`[FIRING critical] LiquidationDistance · degen BTCUSDT`; for a group `[FIRING:3] A, B (critical)`."""
    firing = [a for a in n.alerts if a.state is AlertState.FIRING]
    status = "FIRING" if firing else "RESOLVED"
    shown = firing or list(n.alerts)
    if len(shown) == 1:
        a = shown[0]
        place = where(a)
        return f"[{status} {a.severity.label}] {a.labels.get('alertname', '?')}" + (
            f" · {place}" if place else ""
        )
    names = sorted({a.labels.get("alertname", "?") for a in shown})
    top = max((a.severity for a in shown), default=None)
    sev = f" ({top.label})" if top is not None else ""
    return f"[{status}:{len(shown)}] {', '.join(names)}{sev}"


def headline(a: AlertEvent) -> str:
    """The alert's summary in human values (`degen BTCUSDT is 4.92 % from liquidation`)."""
    summary = a.annotations.get("summary", "")
    if summary:
        return summary
    value = a.annotations.get("value_text") or a.annotations.get("value", "")
    return f"{a.labels.get('alertname', '?')} {where(a)} {value}".strip()


def context_pairs(a: AlertEvent) -> list[tuple[str, str]]:
    """(label, text) of every context fact the tick gave this alert, in reading order."""
    out = [(label, a.annotations[k]) for k, label in CONTEXT_FIELDS if a.annotations.get(k)]
    if a.annotations.get("resolved_reason"):
        out.append(("Resolved", a.annotations["resolved_reason"]))
    if a.annotations.get("figure_state"):
        out.append(("Figure", a.annotations["figure_state"]))
    if a.annotations.get("reason") and a.labels.get("alertname") == "FigureUnavailable":
        out.append(("Reason", a.annotations["reason"]))
    return out


def notice(n: Notification) -> str:
    """The line a lock screen shows: `CRITICAL: degen BTCUSDT is 4.92 % from liquidation …` for one
    alert (`RESOLVED: …` once it is over), the group's title for several."""
    firing = [a for a in n.alerts if a.state is AlertState.FIRING]
    shown = firing or list(n.alerts)
    if len(shown) == 1:
        a = shown[0]
        state = a.severity.label.upper() if a.state is AlertState.FIRING else "RESOLVED"
        return f"{state}: {headline(a)}"
    return title(n)


def alert_line(a: AlertEvent) -> str:
    """One line per alert: mark, state, severity, name, where, and the summary."""
    head = f"{emoji(a)} {a.state.value.upper()} {a.severity.label} {a.labels.get('alertname', '?')}"
    said = headline(a)
    place = " ".join(p for p in where(a).split() if p not in said)  # what the summary does not name
    return f"{head}{f' [{place}]' if place else ''}: {said}"


def _block(a: AlertEvent) -> list[str]:
    lines = [alert_line(a)]
    lines += [f"   {label}: {text}" for label, text in context_pairs(a)]
    if a.annotations.get("runbook"):
        lines.append(f"   Runbook: {a.annotations['runbook']}")
    return lines


def body(n: Notification) -> str:
    """Every alert with its context, firing first (most severe first), then resolved ones."""
    return "\n".join(line for a in ordered(n.alerts) for line in _block(a))


def compact_body(n: Notification) -> str:
    """One line per alert, for a group too large for the full form."""
    return "\n".join(alert_line(a) for a in ordered(n.alerts))


def fit(n: Notification, limit: int, size: Callable[[str], int] = len, prefix: str = "") -> str:
    """`prefix` + the full body if it fits `limit`, else the compact one, cut to fit if need be."""
    full = prefix + body(n)
    if size(full) <= limit:
        return full
    return truncate(prefix + compact_body(n), limit, size, unit="alerts")


def utf8_size(text: str) -> int:
    """Bytes on the wire: ntfy's limit counts these, not characters."""
    return len(text.encode("utf-8"))


def truncate(text: str, limit: int, size: Callable[[str], int] = len, unit: str = "lines") -> str:
    """Cut at a line boundary so `size(text)` stays within `limit`, and say how much was left out.

    `size` is `len` for limits in characters (Slack, Discord, Telegram) and `utf8_size` for
    limits in bytes (ntfy), where one emoji or accented label counts several times.
    """
    if size(text) <= limit:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        note = f"… {len(lines) - i} more {unit}"
        if used + size(line) + 1 + size(note) > limit:
            return _cut("\n".join([*kept, note]), limit, size)
        kept.append(line)
        used += size(line) + 1
    return _cut(text, limit, size)


def _cut(text: str, limit: int, size: Callable[[str], int]) -> str:
    text = text[:limit]
    while size(text) > limit:
        text = text[:-1]
    return text
