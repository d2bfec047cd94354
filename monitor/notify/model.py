"""The Notification record: what the pipeline stores in the outbox and hands to a notifier.

It is built and saved before the first send attempt, so everything a notifier needs is in it
(no lookups at send time), and it survives a restart byte for byte.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Sequence

import msgspec

from monitor.records import AlertEvent, AlertState

__all__ = ["Notification", "NotifyReason", "idempotency_key", "merge"]


class NotifyReason(enum.StrEnum):
    """Why a notification goes out (Alertmanager's notify reasons)."""

    FIRST = "first"  # the first notification of this group
    NEW_ALERTS = "new_alerts"  # an alert started firing or changed severity
    NEW_RESOLVED = "new_resolved"  # an alert resolved
    REPEAT = "repeat"  # nothing changed; the repeat interval elapsed


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One message to one receiver about one group of alert events from one tick."""

    receiver: str
    integration: str  # the receiver's type: console, webhook, …
    group_key: str
    reason: NotifyReason
    alerts: tuple[AlertEvent, ...]
    created_ns: int
    idempotency_key: str

    @property
    def status(self) -> AlertState:
        """Firing if any alert in the group fires (Alertmanager's group status)."""
        if any(a.state is AlertState.FIRING for a in self.alerts):
            return AlertState.FIRING
        return AlertState.RESOLVED


def idempotency_key(receiver: str, alerts: Iterable[AlertEvent]) -> str:
    """Same events to the same receiver give the same key, in this process or after a restart.

    Receivers that dedup on it (our webhook sends it as `Idempotency-Key`) turn at-least-once
    delivery into effectively-once; the outbox refuses a second row with the same key.
    """
    h = hashlib.sha256(receiver.encode())
    for a in sorted(alerts, key=lambda a: (a.fingerprint, a.event_ns)):
        h.update(f"\x1e{a.fingerprint}\x1f{a.state.value}\x1f{a.starts_at_ns}\x1f{a.event_ns}".encode())
    return h.hexdigest()[:32]


_PRIORITY = (NotifyReason.FIRST, NotifyReason.NEW_ALERTS, NotifyReason.NEW_RESOLVED, NotifyReason.REPEAT)


def merge(notes: Sequence[Notification]) -> Notification:
    """Fold a backlog into one message, keeping each alert's latest event, first-seen order.

    Chat receivers rate-limit (Telegram ~20 messages a minute per group); during a market-wide
    move the backlog is better read as one current picture than as fifty stale lines.
    """
    if len(notes) == 1:
        return notes[0]
    latest: dict[str, AlertEvent] = {}
    for n in notes:
        for a in n.alerts:
            latest.pop(a.fingerprint, None)  # re-insert so the order follows the newest event
            latest[a.fingerprint] = a
    keys = {n.group_key for n in notes}
    h = hashlib.sha256()
    for n in notes:
        h.update(n.idempotency_key.encode())
    last = notes[-1]
    return Notification(
        receiver=last.receiver,
        integration=last.integration,
        group_key=keys.pop() if len(keys) == 1 else "merged",
        reason=min((n.reason for n in notes), key=_PRIORITY.index),
        alerts=tuple(latest.values()),
        created_ns=last.created_ns,
        idempotency_key=h.hexdigest()[:32],
    )
