"""Durable outbox on SQLite (WAL): a notification is written before its first send and kept until acked.

This is what makes delivery at-least-once across crashes and restarts (Alertmanager keeps alerts
in memory only; its nflog is the closest analogue). Rows move pending → leased → sent | failed
(| superseded, below).
Sent rows are kept for `retention_s` so a late duplicate of the same idempotency key is still
refused, then pruned. On open, rows leased by a previous process go back to pending: that process
is gone, and a duplicate send beats a lost alert.

Nothing is ever dropped to bound the queue. What a long outage would pile up is repeats, so a
pending *repeat* row is marked `superseded` when a newer row for the same receiver and group
covers every one of its alerts (same fingerprint and severity): a repeat carries no state change
by definition (the change went out in an earlier row, which stays), and the newer row carries a
newer state of each of its alerts, so no state change is lost. A receiver down for a day gets the
firing, each escalation and resolution, and one current repeat — not 288 identical ones. Rows
already leased (in flight) are never touched.

Every method is one short transaction on one connection guarded by a lock, so the dispatcher can
call them from `asyncio.to_thread` without blocking the event loop on fsync.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import msgspec

from monitor.notify.model import Notification, NotifyReason

__all__ = ["Outbox", "OutboxRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    receiver        TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    group_key       TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    created_ns      INTEGER NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ns INTEGER NOT NULL,
    done_ns         INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '',
    UNIQUE (receiver, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (receiver, status, id);
"""
# after the column migration: older files gain `reason` first
_REPEAT_INDEX = "CREATE INDEX IF NOT EXISTS outbox_repeats ON outbox (receiver, status, reason)"

# msgpack, not JSON: alert values may be NaN (a figure that is not available), which JSON cannot hold
_decoder = msgspec.msgpack.Decoder(Notification)
_FINISHED = "('sent', 'failed', 'superseded')"


Identity = tuple[str, int]  # (fingerprint, severity): what Alertmanager, too, tells apart


def _identities(n: Notification) -> set[Identity]:
    return {(a.fingerprint, int(a.severity)) for a in n.alerts}


class OutboxRow(msgspec.Struct, frozen=True, kw_only=True):
    """A leased row: the notification plus its delivery bookkeeping."""

    id: int
    notification: Notification
    attempts: int
    next_attempt_ns: int
    last_error: str


class Outbox:
    """SQLite-backed queue per receiver, FIFO by insertion (order preserved per group)."""

    def __init__(self, path: str | Path, *, retention_s: float = 86_400.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._retention_ns = int(retention_s * 1e9)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an acked enqueue survives power loss
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        if "reason" not in {r[1] for r in self._db.execute("PRAGMA table_info(outbox)")}:
            self._db.execute("ALTER TABLE outbox ADD COLUMN reason TEXT NOT NULL DEFAULT ''")  # older files
        self._db.execute(_REPEAT_INDEX)  # the supersede lookup must not scan a long backlog
        self._db.execute("UPDATE outbox SET status='pending' WHERE status='leased'")
        self.superseded_total: dict[str, int] = {}  # receiver → repeat rows collapsed (this process)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def enqueue(self, notifications: list[Notification]) -> int:
        """Store new notifications in one transaction; return how many were new (duplicates skipped).

        Older pending repeats that a new row covers are marked superseded in the same transaction.
        """
        with self._lock:
            added = 0
            self._db.execute("BEGIN IMMEDIATE")
            try:
                repeats = self._pending_repeats({n.receiver for n in notifications})
                for n in notifications:
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO outbox (receiver, idempotency_key, group_key, payload,"
                        " created_ns, next_attempt_ns, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            n.receiver,
                            n.idempotency_key,
                            n.group_key,
                            msgspec.msgpack.encode(n),
                            n.created_ns,
                            n.created_ns,
                            n.reason.value,
                        ),
                    )
                    if not cur.rowcount or cur.lastrowid is None:
                        continue  # a duplicate is old news: it supersedes nothing
                    added += 1
                    older = repeats.setdefault((n.receiver, n.group_key), [])
                    if older:
                        self._supersede(n, cur.lastrowid, older)
                    if n.reason is NotifyReason.REPEAT:
                        older.append((cur.lastrowid, _identities(n)))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return added

    def _pending_repeats(self, receivers: set[str]) -> dict[tuple[str, str], list[tuple[int, set[Identity]]]]:
        """(receiver, group) → [(row id, identities)] of pending repeats; one query, usually empty."""
        marks = ",".join("?" * len(receivers))
        found = self._db.execute(
            f"SELECT id, receiver, group_key, payload FROM outbox WHERE receiver IN ({marks})"
            " AND status = 'pending' AND reason = 'repeat' ORDER BY id",
            sorted(receivers),
        ).fetchall()
        out: dict[tuple[str, str], list[tuple[int, set[Identity]]]] = {}
        for rid, receiver, group_key, payload in found:
            out.setdefault((receiver, group_key), []).append((rid, _identities(_decoder.decode(payload))))
        return out

    def _supersede(self, n: Notification, new_id: int, older: list[tuple[int, set[Identity]]]) -> None:
        """Mark the older pending repeats of `n`'s receiver and group that `n` covers (module docstring)."""
        covers = _identities(n)
        gone = [rid for rid, ids in older if ids <= covers]
        if not gone:
            return
        older[:] = [(rid, ids) for rid, ids in older if rid not in gone]
        marks = ",".join("?" * len(gone))
        self._db.execute(
            f"UPDATE outbox SET status='superseded', done_ns=?, last_error=? WHERE id IN ({marks})",
            [n.created_ns, f"superseded by row {new_id}", *gone],
        )
        self.superseded_total[n.receiver] = self.superseded_total.get(n.receiver, 0) + len(gone)

    def lease(self, receiver: str) -> OutboxRow | None:
        """Take the oldest unfinished row of `receiver`, due or not; the worker waits out `next_attempt_ns`.

        Handing out the head even when it is not yet due keeps per-receiver order: a later
        notification never overtakes one that is waiting for its retry.
        """
        rows = self.lease_many(receiver, 1)
        return rows[0] if rows else None

    def lease_many(self, receiver: str, limit: int) -> list[OutboxRow]:
        """Take up to `limit` oldest unfinished rows of `receiver` (a backlog to merge), oldest first."""
        with self._lock:
            found = self._db.execute(
                "SELECT id, payload, attempts, next_attempt_ns, last_error FROM outbox"
                " WHERE receiver = ? AND status IN ('pending', 'leased') ORDER BY id LIMIT ?",
                (receiver, max(1, limit)),
            ).fetchall()
            marks = ",".join("?" * len(found))
            sql = f"UPDATE outbox SET status='leased' WHERE id IN ({marks})"
            self._db.execute(sql, [r[0] for r in found])
        return [
            OutboxRow(
                id=r[0],
                notification=_decoder.decode(r[1]),
                attempts=r[2],
                next_attempt_ns=r[3],
                last_error=r[4],
            )
            for r in found
        ]

    def ack(self, row_id: int, now_ns: int) -> None:
        """Mark delivered; the row stays (status sent) until pruned so its key still dedups."""
        self._set(
            "UPDATE outbox SET status='sent', attempts=attempts+1, done_ns=? WHERE id=?", (now_ns, row_id)
        )

    def retry(self, row_id: int, next_attempt_ns: int, error: str) -> None:
        """Record a retryable failure; `error` must already be redacted."""
        self._set(
            "UPDATE outbox SET status='pending', attempts=attempts+1, next_attempt_ns=?, last_error=?"
            " WHERE id=?",
            (next_attempt_ns, error[:500], row_id),
        )

    def fail(self, row_id: int, now_ns: int, error: str) -> None:
        """Give up on a row (permanent failure); it stays for inspection until pruned."""
        self._set(
            "UPDATE outbox SET status='failed', attempts=attempts+1, done_ns=?, last_error=? WHERE id=?",
            (now_ns, error[:500], row_id),
        )

    def prune(self, now_ns: int) -> int:
        """Delete finished rows older than the retention; return how many went."""
        with self._lock:
            cur = self._db.execute(
                f"DELETE FROM outbox WHERE status IN {_FINISHED} AND done_ns < ?",
                (now_ns - self._retention_ns,),
            )
            return cur.rowcount

    def pending(self, receiver: str | None = None) -> int:
        """Rows not yet delivered or given up (the `perpmon_outbox_pending` gauge)."""
        sql, args = _of(receiver, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'leased')")
        with self._lock:
            return int(self._db.execute(sql, args).fetchone()[0])

    def rows(self, receiver: str | None = None) -> list[tuple[int, str, str, int, str]]:
        """(id, receiver, status, attempts, last_error) of every row, oldest first (debugging, tests)."""
        sql, args = _of(receiver, "SELECT id, receiver, status, attempts, last_error FROM outbox")
        with self._lock:
            return [tuple(r) for r in self._db.execute(sql + " ORDER BY id", args).fetchall()]

    def _set(self, sql: str, args: tuple[object, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)


def _of(receiver: str | None, sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` narrowed to one receiver's rows (None: every receiver's), and its parameters."""
    if receiver is None:
        return sql, ()
    return f"{sql} {'AND' if ' WHERE ' in sql else 'WHERE'} receiver = ?", (receiver,)
