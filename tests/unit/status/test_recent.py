"""The ring of recent transitions keeps changes, drops repeats, and forgets the oldest."""

from __future__ import annotations

from monitor.records import AlertState, Severity
from monitor.status.recent import RecentEvents
from tests.unit.status.desk import T0, alert

S = 1_000_000_000


def test_repeats_are_dropped_and_escalation_and_resolution_kept() -> None:
    ring = RecentEvents()
    lab = {"venue": "binance", "account": "degen"}
    warn = alert("MarginRatio", Severity.WARNING, fingerprint="f", at_ns=T0, **lab)
    repeat = alert("MarginRatio", Severity.WARNING, fingerprint="f", at_ns=T0 + 60 * S, **lab)
    crit = alert("MarginRatio", Severity.CRITICAL, fingerprint="f", at_ns=T0 + 61 * S, **lab)
    done = alert(
        "MarginRatio", Severity.CRITICAL, fingerprint="f", state=AlertState.RESOLVED, at_ns=T0 + 90 * S, **lab
    )
    again = alert("MarginRatio", Severity.CRITICAL, fingerprint="f", at_ns=T0 + 99 * S, **lab)
    ring.record([warn, repeat])
    ring.record([repeat, crit])
    ring.record([done, again])
    assert ring.latest() == [again, done, crit, warn]  # newest first; a re-fire after resolving is news


def test_the_heartbeat_counts_once() -> None:
    ring = RecentEvents()
    ring.record(
        alert("PerpmonWatchdog", Severity.INFO, fingerprint="hb", at_ns=T0 + i * S) for i in range(10)
    )
    assert len(ring.latest()) == 1


def test_the_ring_is_bounded() -> None:
    ring = RecentEvents(size=5)
    ring.record(alert("A", Severity.WARNING, fingerprint=f"f{i}", at_ns=T0 + i) for i in range(12))
    assert [e.fingerprint for e in ring.latest()] == ["f11", "f10", "f9", "f8", "f7"]
