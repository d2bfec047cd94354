"""Re-sending state to receivers that forget it: Alertmanager's client obligations, as a small state machine.

Alertmanager keeps an alert only until its `endsAt`, so a client must "continuously re-send alerts
as long as they are still active" and send resolved ones with `endsAt` set (prometheus.io/docs/
alerting/clients; Prometheus re-sends every minute with `endsAt` four intervals ahead). The rule
engine emits events only on changes and repeats, so for such receivers the dispatcher asks a
`Resender`, on every evaluation tick, what else to send:

- every `every_s`, the firing set routed to the receiver (the engine's `announced()` view, so a
  muted alert is repeated as last told and never leaks), each stamped with the tick's time;
- for `keep_resolved_s` (5 min, per the Alertmanager docs) after an alert resolves, its resolution;
- at once, a resolution for the previous severity when an alert changes severity: Alertmanager
  identifies alerts by all labels, severity included, so without it the old severity would fire on
  until its `endsAt`.

These re-sends go through the outbox like any notification (reason `repeat`, group `resend`), so a
receiver that is down delays them and they never get lost; superseded ones are collapsed there.
The state is in memory: after a restart the engine re-fires alerts after their `for` and the
receiver lets the old ones expire; after a config reload the firing set still comes from the engine.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import msgspec

from monitor.clock import NS_PER_S
from monitor.records import AlertEvent, AlertState
from monitor.rules.model import STARTED_ALERTNAME

__all__ = ["RESEND_GROUP", "Resender"]

RESEND_GROUP = "resend"

_State = tuple[int | None, dict[str, AlertEvent], dict[tuple[str, int], AlertEvent]]


def _restamp(ev: AlertEvent, now_ns: int) -> AlertEvent:
    # a new event time gives a new idempotency key: a re-send must not be refused as a duplicate
    return msgspec.structs.replace(ev, event_ns=now_ns)


class Resender:
    """One receiver's re-send bookkeeping; see the module docstring."""

    def __init__(self, every_s: float, keep_resolved_s: float = 300.0) -> None:
        self.every_s = every_s
        self._every_ns = round(every_s * NS_PER_S)
        self._keep_ns = round(keep_resolved_s * NS_PER_S)
        self._last_ns: int | None = None
        self._sent: dict[str, AlertEvent] = {}  # fingerprint → last firing event the receiver got
        self._resolved: dict[tuple[str, int], AlertEvent] = {}  # (fingerprint, severity) → resolution

    def checkpoint(self) -> _State:
        """What `restore` needs to undo a tick whose notifications the outbox refused."""
        return (self._last_ns, dict(self._sent), dict(self._resolved))

    def restore(self, state: _State) -> None:
        self._last_ns, self._sent, self._resolved = state[0], dict(state[1]), dict(state[2])

    def observe(self, events: Sequence[AlertEvent], now_ns: int) -> list[AlertEvent]:
        """Note what this tick tells the receiver; return the extra resolutions it needs right away."""
        extra: list[AlertEvent] = []
        for ev in events:
            if ev.labels.get("alertname") == STARTED_ALERTNAME:
                continue  # a one-shot notice: let the receiver expire it
            fp = ev.fingerprint
            prev = self._sent.get(fp)
            if prev is not None and prev.severity != ev.severity:
                gone = msgspec.structs.replace(
                    prev, state=AlertState.RESOLVED, ends_at_ns=now_ns, event_ns=now_ns
                )
                extra.append(gone)
                self._resolved[(fp, int(gone.severity))] = gone
            if ev.state is AlertState.FIRING:
                self._sent[fp] = ev
                self._resolved.pop((fp, int(ev.severity)), None)  # firing again: the resolution is old news
            else:
                self._sent.pop(fp, None)
                self._resolved[(fp, int(ev.severity))] = ev
        return extra

    def due(self, now_ns: int) -> bool:
        """True once per `every_s` of tick time (the first tick included)."""
        return self._last_ns is None or now_ns - self._last_ns >= self._every_ns

    def resend(
        self, now_ns: int, firing: Sequence[AlertEvent] | None, skip: Collection[str] = ()
    ) -> list[AlertEvent]:
        """The firing set and recent resolutions, stamped `now_ns`, minus fingerprints told this tick.

        `firing` is the engine's current view routed to this receiver; None re-sends what this
        receiver was told (for callers without an engine).
        """
        self._last_ns = now_ns
        horizon = now_ns - self._keep_ns
        for key in [k for k, ev in self._resolved.items() if (ev.ends_at_ns or 0) < horizon]:
            del self._resolved[key]
        current = list(self._sent.values()) if firing is None else list(firing)
        out = [_restamp(ev, now_ns) for ev in current if ev.fingerprint not in skip]
        self.observe(out, now_ns)  # a severity change seen only now leaves its resolution in _resolved
        out += [_restamp(ev, now_ns) for ev in self._resolved.values() if ev.fingerprint not in skip]
        return out
