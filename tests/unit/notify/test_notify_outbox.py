"""Outbox: durable, ordered, deduplicated by idempotency key, and resumed after a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitor.notify.outbox import Outbox
from monitor.records import AlertState
from tests.unit.notify.notify_helpers import T0, event, notification


def test_enqueue_then_lease_round_trips_the_notification(tmp_path: Path) -> None:
    """What is leased is exactly what was enqueued (msgspec round trip through SQLite)."""
    ob = Outbox(tmp_path / "o.db")
    n = notification()
    assert ob.enqueue([n]) == 1
    row = ob.lease("desk")
    assert row is not None and row.notification == n and row.attempts == 0


def test_duplicate_idempotency_key_is_not_enqueued_twice(tmp_path: Path) -> None:
    """A second notification with the same receiver and key is ignored, even after it was acked."""
    ob = Outbox(tmp_path / "o.db")
    n = notification()
    assert ob.enqueue([n, n]) == 1
    row = ob.lease("desk")
    assert row is not None
    ob.ack(row.id, T0)
    assert ob.enqueue([n]) == 0
    assert ob.pending() == 0


def test_same_key_for_another_receiver_is_a_separate_row(tmp_path: Path) -> None:
    """Uniqueness is per receiver: two receivers each get the alert."""
    ob = Outbox(tmp_path / "o.db")
    assert ob.enqueue([notification("a"), notification("b")]) == 2
    assert (ob.pending("a"), ob.pending("b")) == (1, 1)


def test_ack_removes_from_pending(tmp_path: Path) -> None:
    """An acked row no longer counts as pending and is not leased again."""
    ob = Outbox(tmp_path / "o.db")
    ob.enqueue([notification()])
    row = ob.lease("desk")
    assert row is not None
    ob.ack(row.id, T0)
    assert ob.pending("desk") == 0 and ob.lease("desk") is None


def test_restart_resumes_pending_and_leased_rows(tmp_path: Path) -> None:
    """A new Outbox on the same file hands out rows the previous process had not acked, in order."""
    path = tmp_path / "o.db"
    ob = Outbox(path)
    first = notification("desk", event(symbol="BTCUSDT"))
    second = notification("desk", event(symbol="ETHUSDT"))
    ob.enqueue([first, second])
    assert ob.lease("desk") is not None  # leased, then the process dies
    ob.close()
    reopened = Outbox(path)
    assert reopened.pending("desk") == 2
    row = reopened.lease("desk")
    assert row is not None and row.notification == first


def test_lease_keeps_fifo_order_until_head_is_finished(tmp_path: Path) -> None:
    """The head is handed out again until acked or failed, so later rows never overtake it."""
    ob = Outbox(tmp_path / "o.db")
    firing = notification("desk", event())
    resolved = notification("desk", event(state=AlertState.RESOLVED, event_ns=T0 + 5))
    ob.enqueue([firing, resolved])
    head = ob.lease("desk")
    assert head is not None
    ob.retry(head.id, T0 + 10**9, "http_503")
    again = ob.lease("desk")
    assert again is not None and again.notification == firing
    assert (again.attempts, again.next_attempt_ns, again.last_error) == (1, T0 + 10**9, "http_503")
    ob.fail(again.id, T0, "http_400")
    nxt = ob.lease("desk")
    assert nxt is not None and nxt.notification == resolved


def test_failed_rows_keep_redacted_error_and_leave_pending(tmp_path: Path) -> None:
    """A permanent failure stops counting as pending but stays visible with its error."""
    ob = Outbox(tmp_path / "o.db")
    ob.enqueue([notification()])
    row = ob.lease("desk")
    assert row is not None
    ob.fail(row.id, T0, "http_404")
    assert ob.pending() == 0
    assert ob.rows("desk") == [(row.id, "desk", "failed", 1, "http_404")]


def test_prune_deletes_only_old_finished_rows(tmp_path: Path) -> None:
    """Sent rows older than the retention go; pending rows are never pruned."""
    ob = Outbox(tmp_path / "o.db", retention_s=60)
    ob.enqueue([notification("desk", event(symbol="A1")), notification("desk", event(symbol="B1"))])
    row = ob.lease("desk")
    assert row is not None
    ob.ack(row.id, T0)
    assert ob.prune(T0 + 30 * 10**9) == 0
    assert ob.prune(T0 + 61 * 10**9) == 1
    assert ob.pending() == 1


def test_database_is_in_wal_mode(tmp_path: Path) -> None:
    """WAL lets metrics read pending counts while a worker writes."""
    Outbox(tmp_path / "o.db").close()
    with sqlite3.connect(tmp_path / "o.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_nan_values_survive_the_round_trip(tmp_path: Path) -> None:
    """Events with no value (the restart notice, an unavailable figure) are stored and read back intact."""
    import math

    from monitor.rules import RuleEngine

    started = RuleEngine(()).started(T0)[0]
    ob = Outbox(tmp_path / "o.db")
    assert ob.enqueue([notification("desk", started)]) == 1
    row = ob.lease("desk")
    assert row is not None and math.isnan(row.notification.alerts[0].value)
    assert row.notification.alerts[0].labels == started.labels
