"""Console notifier: alerts as structured log lines, for `make run` and as a last-resort receiver.

It cannot fail in a way retrying would fix, so it never raises; it still goes through the outbox
like every receiver so the pipeline has a single path. The level follows the severity
(`monitor/log.py`: info, warning, error for critical, critical for a page; a resolution is info),
and the line carries the summary and the context in human values (`value`, `mark`, `distance`, …
from `monitor/rules/context.py`), the raw number beside them as `value_raw` for a machine.
"""

from __future__ import annotations

from typing import Any

import structlog

from monitor.log import alert_log_level
from monitor.notify.model import Notification
from monitor.records import AlertState
from monitor.rules.context import CONTEXT_FIELDS

__all__ = ["ConsoleNotifier"]

log = structlog.get_logger("monitor.alerts")


class ConsoleNotifier:
    """Log one line per alert: `alert firing` at the severity's level, `alert resolved` at info."""

    def __init__(self, name: str = "console") -> None:
        self.name = name

    async def notify(self, n: Notification) -> None:
        for a in n.alerts:
            ann = a.annotations
            fields: dict[str, Any] = {
                "alertname": a.labels.get("alertname", ""),
                "severity": a.severity.label,
                "summary": ann.get("summary", ""),
                "value": ann.get("value_text") or ann.get("value", ""),
                "threshold": ann.get("threshold_text") or ann.get("threshold", ""),
            }
            fields.update({k: v for k, v in a.labels.items() if k not in ("alertname", "severity")})
            fields.update({k: ann[k] for k, _ in CONTEXT_FIELDS if ann.get(k)})
            for extra in ("resolved_reason", "figure_state", "reason", "runbook", "url"):
                if extra in ann:
                    fields[extra] = ann[extra]
            fields.update(value_raw=ann.get("value", ""), fingerprint=a.fingerprint)
            fields.update(receiver=n.receiver, reason_sent=n.reason.value)
            firing = a.state is AlertState.FIRING
            emit = getattr(log, alert_log_level(a.severity, firing))
            emit("alert firing" if firing else "alert resolved", **fields)
