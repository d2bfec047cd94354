"""Outbox collapse: pending repeats a newer row covers are superseded; state changes never are."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from monitor.notify.model import Notification, NotifyReason
from monitor.notify.outbox import Outbox
from monitor.records import AlertEvent, AlertState, Severity
from tests.unit.notify.notify_helpers import T0, event, notification

S = 1_000_000_000


def note(reason: NotifyReason, *alerts: AlertEvent, group: str = "g") -> Notification:
    n = notification("desk", *alerts, created_ns=alerts[0].event_ns)
    return msgspec.structs.replace(n, reason=reason, group_key=group)


def statuses(ob: Outbox) -> list[str]:
    return [r[2] for r in ob.rows("desk")]


def test_pending_repeats_collapse_into_the_newest_and_the_resolution(tmp_path: Path) -> None:
    """firing, 3 repeats, resolved while the receiver is down: firing and resolved stay, the repeats go."""
    ob = Outbox(tmp_path / "o.db")
    ob.enqueue([note(NotifyReason.FIRST, event(event_ns=T0))])
    for i in (1, 2, 3):
        ob.enqueue([note(NotifyReason.REPEAT, event(event_ns=T0 + i * S))])
    ob.enqueue([note(NotifyReason.NEW_RESOLVED, event(state=AlertState.RESOLVED, event_ns=T0 + 4 * S))])
    assert statuses(ob) == ["pending", "superseded", "superseded", "superseded", "pending"]
    assert ob.pending("desk") == 2 and ob.superseded_total == {"desk": 3}
    assert ob.rows("desk")[1][4] == "superseded by row 3"
    first, resolved = ob.lease_many("desk", 10)
    assert (first.notification.reason, resolved.notification.reason) == ("first", "new_resolved")


def test_state_changes_uncovered_alerts_other_groups_and_leased_rows_are_kept(tmp_path: Path) -> None:
    """Only a pending repeat whose every alert (fingerprint and severity) the newer row carries may go."""
    ob = Outbox(tmp_path / "o.db")
    btc, eth = event(symbol="BTCUSDT", event_ns=T0), event(symbol="ETHUSDT", event_ns=T0)
    ob.enqueue([note(NotifyReason.REPEAT, btc)])  # leased below: in flight, never touched
    assert ob.lease("desk") is not None
    ob.enqueue([note(NotifyReason.REPEAT, btc, eth, group="g")])  # carries ETH: BTC-only rows do not cover it
    ob.enqueue([note(NotifyReason.REPEAT, event(symbol="BTCUSDT", event_ns=T0 + S), group="other")])
    ob.enqueue([note(NotifyReason.NEW_ALERTS, event(symbol="BTCUSDT", event_ns=T0 + 2 * S))])
    warn = event(symbol="BTCUSDT", severity=Severity.WARNING, event_ns=T0 + 3 * S)
    ob.enqueue([note(NotifyReason.REPEAT, warn)])  # another severity is another identity
    assert statuses(ob) == ["leased", "pending", "pending", "pending", "pending"]
    ob.enqueue([note(NotifyReason.REPEAT, event(symbol="BTCUSDT", event_ns=T0 + 4 * S))])
    assert statuses(ob) == ["leased", "pending", "pending", "pending", "pending", "pending"]


def test_superseded_rows_are_pruned_like_finished_ones(tmp_path: Path) -> None:
    """Superseded rows stay for inspection until the retention, then go; pending ones never do."""
    ob = Outbox(tmp_path / "o.db", retention_s=60)
    ob.enqueue([note(NotifyReason.REPEAT, event(event_ns=T0))])
    ob.enqueue([note(NotifyReason.REPEAT, event(event_ns=T0 + S))])
    assert ob.prune(T0 + 30 * S) == 0
    assert ob.prune(T0 + 62 * S) == 1
    assert statuses(ob) == ["pending"]


def test_outbox_written_before_the_reason_column_still_opens(tmp_path: Path) -> None:
    """A file from an older perpmon gains the column; its rows deliver and are never superseded."""
    path = tmp_path / "old.db"
    n = note(NotifyReason.REPEAT, event(event_ns=T0))
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL,"
            " idempotency_key TEXT NOT NULL, group_key TEXT NOT NULL, payload BLOB NOT NULL,"
            " created_ns INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
            " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ns INTEGER NOT NULL, done_ns INTEGER,"
            " last_error TEXT NOT NULL DEFAULT '', UNIQUE (receiver, idempotency_key));"
        )
        db.execute(
            "INSERT INTO outbox (receiver, idempotency_key, group_key, payload, created_ns, next_attempt_ns)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ("desk", n.idempotency_key, "g", msgspec.msgpack.encode(n), T0, T0),
        )
    ob = Outbox(path)
    ob.enqueue([note(NotifyReason.REPEAT, event(event_ns=T0 + S))])
    assert statuses(ob) == ["pending", "pending"]
    row = ob.lease("desk")
    assert row is not None and row.notification == n
