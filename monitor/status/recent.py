"""The last alert transitions, kept in memory for the status page.

Only changes are kept: an alert firing, changing severity, or resolving. A repeat (the same
alert at the same severity, re-sent on its timer) and the heartbeat's beats are not news, and
in a ring of fifty they would push out the transition a person came to see.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from monitor.records import AlertEvent, AlertState, Severity

__all__ = ["RecentEvents"]


class RecentEvents:
    """A bounded ring of transitions; `_told` holds one entry per alert firing now, no more."""

    def __init__(self, size: int = 50) -> None:
        self._ring: deque[AlertEvent] = deque(maxlen=size)
        self._told: dict[str, Severity] = {}  # fingerprint → severity last recorded while firing

    def record(self, events: Iterable[AlertEvent]) -> None:
        for ev in events:
            if ev.state is AlertState.RESOLVED:
                self._told.pop(ev.fingerprint, None)
            elif self._told.get(ev.fingerprint) == ev.severity:
                continue  # a repeat
            else:
                self._told[ev.fingerprint] = ev.severity
            self._ring.append(ev)

    def latest(self) -> list[AlertEvent]:
        """Newest first."""
        return list(reversed(self._ring))
