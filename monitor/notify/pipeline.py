"""Dispatcher: route each tick's events, persist them, and deliver them per receiver with retries.

    submit(events) ─▶ route + group ─▶ Outbox (durable, before any send)
                                         │
                one worker per receiver ◀┘  lease head ─▶ notify ─▶ ack | retry(backoff) | fail

Each receiver has one worker reading its queue head first, so notifications for a receiver
(and so for each of its groups) arrive in the order they were made; a retry blocks the ones
behind it rather than letting "resolved" overtake "firing". Retryable failures are retried
forever with jittered, capped backoff (at-least-once: a late page beats a lost one), honouring
Retry-After; permanent failures are logged, counted and given up. Counters are plain attributes
read by metrics.py at scrape time.

Receivers whose notifier declares `resend_s` (Alertmanager) forget alerts they are not re-told;
for them `submit` also adds, on every tick, what a `Resender` says is due (monitor/notify/resend.py).
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Iterator, Sequence

import structlog

from monitor.backoff import backoff
from monitor.clock import NS_PER_S, Clock
from monitor.config import ReceiverConfig
from monitor.errors import PermanentDeliveryError, RetryableDeliveryError
from monitor.notify.base import Closable, Notifier, reason_label, url_secret_parts
from monitor.notify.model import Notification, NotifyReason, idempotency_key, merge
from monitor.notify.outbox import Outbox, OutboxRow
from monitor.notify.resend import RESEND_GROUP, Resender
from monitor.notify.route import Router
from monitor.records import AlertEvent, AlertState, Severity
from monitor.secret import Secret, redact_text

__all__ = ["Dispatcher"]

log = structlog.get_logger(__name__)

_Seen = dict[str, tuple[AlertState, Severity]]
_PRUNE_EVERY_NS = 3600 * NS_PER_S


class Dispatcher:
    """Owns routing, the outbox and one delivery worker per receiver (see the module docstring)."""

    def __init__(
        self,
        receivers: tuple[ReceiverConfig, ...],
        notifiers: dict[str, Notifier],
        outbox: Outbox,
        clock: Clock,
        *,
        secrets: Sequence[Secret] = (),
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        missing = [r.name for r in receivers if r.name not in notifiers]
        if missing:
            raise ValueError(f"no notifier built for receivers {missing}")
        self._router = Router(receivers)
        self._receivers = {r.name: r for r in receivers}
        self._notifiers = notifiers
        self._outbox = outbox
        self._clock = clock
        self._secrets = tuple(part for s in secrets for part in url_secret_parts(s))
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._wake = {r.name: asyncio.Event() for r in receivers}
        # receivers told of new rows that their worker has not attempted yet (`attempted` below)
        self._due: dict[str, int] = {}  # receiver → the handoff that told it
        self._backing_off: set[str] = set()  # workers waiting out a retry: new rows wait behind the head
        self._none_due = asyncio.Event()
        self._none_due.set()
        self.handoffs = 0  # submits that stored something for a receiver (the loop compares it)
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._pruned_ns = 0
        self.sent_total: dict[str, int] = dict.fromkeys(self._receivers, 0)
        self.failed_total: dict[tuple[str, str], int] = {}  # (receiver, reason) → failed attempts
        self.given_up_total: dict[str, int] = dict.fromkeys(self._receivers, 0)
        self.merged_total: dict[str, int] = dict.fromkeys(self._receivers, 0)  # rows sent folded into one
        self._resenders = {
            name: Resender(every)
            for name in self._receivers
            if (every := float(getattr(notifiers[name], "resend_s", 0.0) or 0.0)) > 0
        }

    @property
    def receiver_names(self) -> list[str]:
        return list(self._receivers)

    def pending(self, receiver: str | None = None) -> int:
        """Notifications not yet delivered nor given up (the `perpmon_outbox_pending` gauge)."""
        return self._outbox.pending(receiver)

    @property
    def superseded_total(self) -> dict[str, int]:
        """Receiver → pending repeat rows collapsed into a newer row (outbox docstring); this process."""
        return {name: self._outbox.superseded_total.get(name, 0) for name in self._receivers}

    # ------------------------------------------------------------ producing

    def build(self, events: Sequence[AlertEvent], now_ns: int) -> list[Notification]:
        """Route and group one tick's events into notifications; updates the reason bookkeeping."""
        staged: dict[tuple[str, str], _Seen] = {}
        out = self._build(events, now_ns, staged)
        self._seen.update(staged)
        return out

    def _build(
        self, events: Sequence[AlertEvent], now_ns: int, staged: dict[tuple[str, str], _Seen]
    ) -> list[Notification]:
        """`build` whose bookkeeping goes to `staged`, kept only once the outbox took the notifications.

        So a refused batch, submitted again, gets the reasons it would have had (a `first` stays
        `first`, never a `repeat` that the outbox may fold away).
        """
        groups: dict[tuple[str, str], list[AlertEvent]] = {}
        for ev in events:
            for name in self._router.route(ev):
                gk = Router.group_key(self._receivers[name], ev)
                groups.setdefault((name, gk), []).append(ev)
        out: list[Notification] = []
        for (name, gk), evs in groups.items():
            out.append(
                Notification(
                    receiver=name,
                    integration=self._receivers[name].type,
                    group_key=gk,
                    reason=self._reason(name, gk, evs, staged),
                    alerts=tuple(evs),
                    created_ns=now_ns,
                    idempotency_key=idempotency_key(name, evs),
                )
            )
        return out

    def _reason(
        self, receiver: str, gk: str, evs: list[AlertEvent], staged: dict[tuple[str, str], _Seen]
    ) -> NotifyReason:
        before = staged.get((receiver, gk), self._seen.get((receiver, gk)))
        first = before is None
        seen = staged[(receiver, gk)] = dict(before or {})
        new_alert = new_resolved = False
        for ev in evs:
            if ev.state is AlertState.RESOLVED:
                new_resolved = True
                seen.pop(ev.fingerprint, None)
            else:
                new_alert |= seen.get(ev.fingerprint) != (ev.state, ev.severity)
                seen[ev.fingerprint] = (ev.state, ev.severity)
        if first:
            return NotifyReason.FIRST
        if new_alert:
            return NotifyReason.NEW_ALERTS
        return NotifyReason.NEW_RESOLVED if new_resolved else NotifyReason.REPEAT

    async def submit(
        self,
        events: Sequence[AlertEvent],
        now_ns: int | None = None,
        *,
        firing: Callable[[], Sequence[AlertEvent]] | None = None,
    ) -> int:
        """Persist the tick's notifications, then wake the workers; return how many were new.

        Call it every tick, events or not, with `firing=engine.announced`: receivers that need
        the firing set re-sent (Alertmanager) get it from there; without `firing` they get what
        they were told. All or nothing: when it raises, nothing was stored and the routing
        bookkeeping is as before, so the caller submits the same events again (`Daemon.submit`).
        """
        if not events and not self._resenders:
            return 0
        now = self._clock.now_ns() if now_ns is None else now_ns
        staged: dict[tuple[str, str], _Seen] = {}
        notes = self._build(events, now, staged) if events else []
        saved = {name: rs.checkpoint() for name, rs in self._resenders.items()}
        if self._resenders:
            notes += self._resends(notes, now, firing)
        if not notes:
            return 0
        try:
            added = await asyncio.to_thread(self._outbox.enqueue, notes)
        except BaseException:
            # the re-send bookkeeping moved on while building (a severity change's extra resolution,
            # the re-send timer): put it back, so the same events submitted again build the same notes
            for name, state in saved.items():
                self._resenders[name].restore(state)
            raise
        self._seen.update(staged)
        if now - self._pruned_ns >= _PRUNE_EVERY_NS:  # keep the file small; retention is the outbox's
            self._pruned_ns = now
            try:  # the notes are stored: a failed clean-up must not make the caller submit them twice
                await asyncio.to_thread(self._outbox.prune, now)
            except Exception as exc:
                log.warning("outbox prune failed; retried in an hour", error=self._redact(str(exc)))
        self.handoffs += 1
        for n in notes:
            self._wake[n.receiver].set()
            if n.receiver not in self._backing_off:
                self._due[n.receiver] = self.handoffs
        if self._due:
            self._none_due.clear()
        return added

    async def attempted(self, timeout_s: float) -> bool:
        """Wait (real time, at most `timeout_s`) until every receiver told of new rows has tried them.

        The evaluation loop calls it after a tick that stored alerts, before it starts another: a
        tick holds the event loop (seconds at desk scale), and a worker whose lease or POST is
        waiting for the loop would wait for that whole tick. A worker in a retry backoff, or a
        receiver still answering at the deadline, does not hold evaluation any longer than that.
        """
        try:
            async with asyncio.timeout(timeout_s):
                await self._none_due.wait()
        except TimeoutError:
            return False
        return True

    def _tried(self, receiver: str, seen: int) -> None:
        """`receiver`'s worker made an attempt (or found its head in a backoff) after handoff `seen`."""
        if self._due.get(receiver, seen + 1) <= seen:
            del self._due[receiver]
        if not self._due:
            self._none_due.set()

    def _resends(
        self, notes: list[Notification], now: int, firing: Callable[[], Sequence[AlertEvent]] | None
    ) -> list[Notification]:
        out: list[Notification] = []
        current: Sequence[AlertEvent] | None = None
        for name, rs in self._resenders.items():
            told = [a for n in notes if n.receiver == name for a in n.alerts]
            extra = rs.observe(told, now)
            if rs.due(now):
                routed = None
                if firing is not None:
                    current = firing() if current is None else current
                    routed = [ev for ev in current if name in self._router.route(ev)]
                extra += rs.resend(now, routed, skip={a.fingerprint for a in told})
            if extra:
                out.append(
                    Notification(
                        receiver=name,
                        integration=self._receivers[name].type,
                        group_key=RESEND_GROUP,
                        reason=NotifyReason.REPEAT,
                        alerts=tuple(extra),
                        created_ns=now,
                        idempotency_key=idempotency_key(name, extra),
                    )
                )
        return out

    # ------------------------------------------------------------ delivering

    async def run(self) -> None:
        """Run every receiver's worker until cancelled; spawn this once under the supervisor."""
        async with asyncio.TaskGroup() as tg:
            for name in self._receivers:
                tg.create_task(self.run_worker(name), name=f"notify:{name}")

    async def run_worker(self, receiver: str) -> None:
        """Deliver `receiver`'s queue in order, forever; safe to restart (leases are re-taken)."""
        wake = self._wake[receiver]
        merge_limit = max(1, int(getattr(self._notifiers[receiver], "merge_limit", 1)))
        delays = self._delays()
        while True:
            wake.clear()
            seen = self.handoffs  # every row stored by this handoff is visible to the lease below
            rows = await asyncio.to_thread(self._outbox.lease_many, receiver, 1)
            if not rows:
                self._tried(receiver, seen)
                await wake.wait()
                continue
            wait_ns = rows[0].next_attempt_ns - self._clock.now_ns()
            if wait_ns > 0:
                self._backing_off.add(
                    receiver
                )  # a backoff: every row waits behind the head, not for the loop
                self._tried(receiver, self.handoffs)
                try:
                    await self._clock.sleep(wait_ns / NS_PER_S)
                finally:
                    self._backing_off.discard(receiver)
                continue  # look again: the backlog may have grown while we waited
            if merge_limit > 1:
                rows = await asyncio.to_thread(self._outbox.lease_many, receiver, merge_limit)
            try:
                if await self._attempt(receiver, rows, delays):
                    delays = self._delays()
            finally:
                self._tried(receiver, seen)

    def _delays(self) -> Iterator[float]:
        return backoff(initial_s=self._backoff[0], max_s=self._backoff[1])

    async def _attempt(self, receiver: str, rows: list[OutboxRow], delays: Iterator[float]) -> bool:
        """One send of the head row (or of a merged backlog); return True when the rows are finished."""
        n = merge([r.notification for r in rows])
        ids = [r.id for r in rows]
        try:
            limit = self._receivers[receiver].timeout_s + 5.0  # a hung send must not stall the queue
            async with asyncio.timeout(limit):
                await self._notifiers[receiver].notify(n)
        except RetryableDeliveryError as exc:
            await self._retry(receiver, rows[0], ids, exc.reason, max(next(delays), exc.retry_after_s or 0.0))
            return False
        except PermanentDeliveryError as exc:
            self._failed(receiver, rows[0], exc.reason, retry_in_s=None)
            self.given_up_total[receiver] += len(ids)
            now, why = self._clock.now_ns(), self._redact(exc.reason)
            await self._finish(lambda i: self._outbox.fail(i, now, why), ids)
            return True
        except TimeoutError:
            await self._retry(receiver, rows[0], ids, "timeout", next(delays))
            return False
        except Exception as exc:  # a notifier bug: keep the alert, retry, and show the traceback (redacted)
            tb = self._redact("".join(traceback.format_exception(exc)))
            log.error("notifier raised unexpectedly", receiver=receiver, traceback=tb)
            await self._retry(receiver, rows[0], ids, f"unexpected_error: {type(exc).__name__}", next(delays))
            return False
        now = self._clock.now_ns()
        await self._finish(lambda i: self._outbox.ack(i, now), ids)
        self.sent_total[receiver] += len(ids)
        if len(ids) > 1:
            self.merged_total[receiver] += len(ids)
        log.debug(
            "notification sent", receiver=receiver, reason=n.reason.value, alerts=len(n.alerts), rows=len(ids)
        )
        return True

    async def _retry(
        self, receiver: str, head: OutboxRow, ids: list[int], reason: str, delay_s: float
    ) -> None:
        self._failed(receiver, head, reason, retry_in_s=delay_s)
        at = self._clock.now_ns() + int(delay_s * NS_PER_S)
        why = self._redact(reason)
        await self._finish(lambda i: self._outbox.retry(i, at, why), ids)

    @staticmethod
    async def _finish(op: Callable[[int], None], ids: list[int]) -> None:
        def run() -> None:
            for i in ids:
                op(i)

        await asyncio.to_thread(run)

    def _failed(self, receiver: str, row: OutboxRow, reason: str, retry_in_s: float | None) -> None:
        label = reason_label(reason)
        self.failed_total[(receiver, label)] = self.failed_total.get((receiver, label), 0) + 1
        fields = {
            "receiver": receiver,
            "integration": row.notification.integration,
            "reason": self._redact(reason),
            "attempt": row.attempts + 1,
            "group_key": row.notification.group_key,
        }
        if retry_in_s is None:
            log.error("notification failed permanently; giving up", **fields)
        else:
            log.warning("notification failed; will retry", retry_in_s=round(retry_in_s, 3), **fields)

    def _redact(self, text: str) -> str:
        return redact_text(text, self._secrets)

    # ------------------------------------------------------------ lifecycle helpers

    async def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait (real time) until no receiver has pending rows; for tests and graceful shutdown."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while await asyncio.to_thread(self._outbox.pending) > 0:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def close(self) -> None:
        """Close notifiers that hold connections (aiohttp sessions); the outbox is the caller's."""
        for notifier in self._notifiers.values():
            if isinstance(notifier, Closable):
                await notifier.close()
