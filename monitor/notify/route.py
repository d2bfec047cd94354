"""Routing: which receivers hear about an alert event, and how a tick's events are grouped.

Receivers match on label equality (Alertmanager's `=` matchers); an empty `match` takes every
alert except the heartbeat. The heartbeat fires forever by design, so it goes only to receivers
that ask for it by name (`match = {alertname = "PerpmonWatchdog"}`), never into a desk's chat —
and to Alertmanager receivers, which route it themselves (the Watchdog pattern: Prometheus sends
its always-firing alert to Alertmanager, whose config forwards it to a dead-man's-switch service).
"""

from __future__ import annotations

from monitor.config import ReceiverConfig
from monitor.records import AlertEvent
from monitor.rules.model import HEARTBEAT_ALERTNAME

__all__ = ["Router"]


class Router:
    """Maps events to receiver names in config order, and events to group keys per receiver."""

    def __init__(self, receivers: tuple[ReceiverConfig, ...]) -> None:
        self._receivers = receivers

    @property
    def receivers(self) -> tuple[ReceiverConfig, ...]:
        return self._receivers

    def route(self, event: AlertEvent) -> list[str]:
        """Names of the receivers whose matchers all equal the event's labels."""
        out: list[str] = []
        for r in self._receivers:
            if (
                event.labels.get("alertname") == HEARTBEAT_ALERTNAME
                and r.match.get("alertname") != HEARTBEAT_ALERTNAME
                and r.type != "alertmanager"
            ):
                continue
            if all(event.labels.get(k) == v for k, v in r.match.items()):
                out.append(r.name)
        return out

    @staticmethod
    def group_key(receiver: ReceiverConfig, event: AlertEvent) -> str:
        """`{}:{alertname="X"}`-style key: the receiver's matchers, then its group_by label values."""
        matchers = ",".join(f'{k}="{v}"' for k, v in sorted(receiver.match.items()))
        groups = ",".join(f'{k}="{event.labels.get(k, "")}"' for k in receiver.group_by)
        return f"{{{matchers}}}:{{{groups}}}"
