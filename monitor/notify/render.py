"""Text for humans from a Notification: titles, bodies and timestamps, with no I/O.

Every chat integration (console, Slack, Telegram, …) renders through here so a desk reads the
same words everywhere, the way Alertmanager's default templates are shared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from monitor.clock import NS_PER_S
from monitor.notify.model import Notification
from monitor.records import AlertEvent, AlertState

__all__ = ["ZERO_TIME", "alert_line", "body", "rfc3339", "title", "truncate", "utf8_size"]

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert still firing
_IDENTITY = ("venue", "account", "symbol", "side", "asset")


def rfc3339(ns: int | None) -> str:
    """UTC with millisecond precision and a `Z`, as Alertmanager writes startsAt/endsAt."""
    if ns is None:
        return ZERO_TIME
    secs, rem = divmod(ns, NS_PER_S)
    t = dt.datetime.fromtimestamp(secs, tz=dt.UTC).replace(microsecond=rem // 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rem // 1_000_000:03d}Z"


def title(n: Notification) -> str:
    """`[FIRING:2] MarginRatioHigh (critical)`: status, count, names and the top severity."""
    firing = [a for a in n.alerts if a.state is AlertState.FIRING]
    status = "FIRING" if firing else "RESOLVED"
    shown = firing or list(n.alerts)
    names = sorted({a.labels.get("alertname", "?") for a in shown})
    top = max((a.severity for a in shown), default=None)
    sev = f" ({top.label})" if top is not None else ""
    return f"[{status}:{len(shown)}] {', '.join(names)}{sev}"


def alert_line(a: AlertEvent) -> str:
    """One line per alert: state, severity, where, and the summary with value and threshold."""
    where = " ".join(f"{k}={a.labels[k]}" for k in _IDENTITY if a.labels.get(k))
    head = f"{a.state.value.upper()} {a.severity.label} {a.labels.get('alertname', '?')}"
    summary = a.annotations.get("summary", "")
    extra = []
    if "value" in a.annotations:
        extra.append(f"value {a.annotations['value']}")
    if "threshold" in a.annotations:
        extra.append(f"threshold {a.annotations['threshold']}")
    if "resolved_reason" in a.annotations:
        extra.append(a.annotations["resolved_reason"])
    if "figure_state" in a.annotations:
        extra.append(f"figure {a.annotations['figure_state']}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{head} [{where}] {summary}{tail}".replace(" [] ", " ")


def body(n: Notification) -> str:
    """Firing alerts first (most severe first), then resolved ones; a runbook link where given."""
    order = sorted(n.alerts, key=lambda a: (a.state is not AlertState.FIRING, -a.severity, a.fingerprint))
    lines = []
    for a in order:
        lines.append("• " + alert_line(a))
        if a.annotations.get("runbook"):
            lines.append(f"  runbook: {a.annotations['runbook']}")
    return "\n".join(lines)


def utf8_size(text: str) -> int:
    """Bytes on the wire: ntfy's limit counts these, not characters."""
    return len(text.encode("utf-8"))


def truncate(text: str, limit: int, size: Callable[[str], int] = len) -> str:
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
        note = f"… {len(lines) - i} more lines"
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
