"""Console notifier: alerts as structured log lines, for `make run` and as a last-resort receiver.

It cannot fail in a way retrying would fix, so it never raises; it still goes through the outbox
like every receiver so the pipeline has a single path.
"""

from __future__ import annotations

import structlog

from monitor.notify.model import Notification
from monitor.records import AlertState

__all__ = ["ConsoleNotifier"]

log = structlog.get_logger("monitor.alerts")


class ConsoleNotifier:
    """Log one line per alert: `alert firing` at warning level, `alert resolved` at info."""

    def __init__(self, name: str = "console") -> None:
        self.name = name

    async def notify(self, n: Notification) -> None:
        for a in n.alerts:
            fields = {
                "alertname": a.labels.get("alertname", ""),
                "severity": a.severity.label,
                "value": a.annotations.get("value", ""),
                "threshold": a.annotations.get("threshold", ""),
                "summary": a.annotations.get("summary", ""),
                "fingerprint": a.fingerprint,
                "receiver": n.receiver,
                "reason": n.reason.value,
            }
            fields.update({k: v for k, v in a.labels.items() if k not in ("alertname", "severity")})
            for extra in ("resolved_reason", "figure_state", "runbook"):
                if extra in a.annotations:
                    fields[extra] = a.annotations[extra]
            if a.state is AlertState.FIRING:
                log.warning("alert firing", **fields)
            else:
                log.info("alert resolved", **fields)
