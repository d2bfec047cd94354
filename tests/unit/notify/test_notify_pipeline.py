"""Dispatcher: route, persist, deliver in order with retries, give up on permanent errors, leak nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from aiohttp import web

from monitor.clock import NS_PER_S, ManualClock
from monitor.config import ReceiverConfig
from monitor.errors import RetryableDeliveryError
from monitor.notify import Dispatcher, NotifyReason, Outbox, build_notifiers
from monitor.notify.model import Notification
from monitor.records import AlertState, Severity
from monitor.secret import Secret
from tests.unit.notify.notify_helpers import T0, TOKEN, Receiver, event

HOOK = ReceiverConfig(name="desk", type="webhook", url_env="DESK_URL")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


class Harness:
    def __init__(self, tmp_path: Path, receiver: Receiver, clock: ManualClock) -> None:
        self.clock = clock
        self.outbox = Outbox(tmp_path / "outbox.db")
        url = Secret(receiver.url())
        notifiers = build_notifiers((HOOK,), {"desk": url}, clock=clock)
        self.d = Dispatcher((HOOK,), notifiers, self.outbox, clock, secrets=[url], backoff_initial_s=1.0)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Harness:
        self.task = asyncio.create_task(self.d.run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.d.close()
        self.outbox.close()


async def test_retries_on_500_then_delivers_once(tmp_path: Path, receiver: Receiver) -> None:
    """Two 500s are retried with backoff; the third attempt lands and the outbox is empty."""
    receiver.responder = lambda i: web.Response(status=500 if i < 2 else 200)
    async with Harness(tmp_path, receiver, ManualClock()) as h:
        assert await h.d.submit([event()], T0) == 1
        assert await h.d.flush(5)
    assert len(receiver.requests) == 3
    assert h.d.sent_total == {"desk": 1}
    assert h.d.failed_total == {("desk", "http_500"): 2}
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 1


async def test_retry_after_is_honoured(tmp_path: Path, receiver: Receiver) -> None:
    """After a 429 with Retry-After: 30, the next attempt waits at least 30 s (clock time)."""
    clock = ManualClock()
    seen_at: list[int] = []

    def respond(i: int) -> web.Response:
        seen_at.append(clock.now_ns())
        return web.Response(status=429, headers={"Retry-After": "30"}) if i == 0 else web.Response()

    receiver.responder = respond
    async with Harness(tmp_path, receiver, clock) as h:
        await h.d.submit([event()], T0)
        assert await h.d.flush(5)
    assert seen_at[1] - seen_at[0] >= 30 * NS_PER_S


async def test_permanent_failure_is_given_up_and_queue_moves_on(tmp_path: Path, receiver: Receiver) -> None:
    """A 400 is not retried: it is counted, kept as failed, and the next notification is delivered."""
    receiver.responder = lambda i: web.Response(status=400 if i == 0 else 200)
    async with Harness(tmp_path, receiver, ManualClock()) as h:
        await h.d.submit([event(symbol="BTCUSDT")], T0)
        await h.d.submit([event(symbol="ETHUSDT", event_ns=T0 + 1)], T0 + 1)
        assert await h.d.flush(5)
        assert [r[2] for r in h.outbox.rows()] == ["failed", "sent"]
    assert len(receiver.requests) == 2
    assert (h.d.given_up_total, h.d.failed_total) == ({"desk": 1}, {("desk", "http_400"): 1})


async def test_order_is_preserved_while_the_head_retries(tmp_path: Path, receiver: Receiver) -> None:
    """A resolved notification queued behind a retrying firing one is delivered after it."""
    receiver.responder = lambda i: web.Response(status=503 if i < 2 else 200)
    async with Harness(tmp_path, receiver, ManualClock()) as h:
        await h.d.submit([event()], T0)
        await h.d.submit([event(state=AlertState.RESOLVED, event_ns=T0 + 5)], T0 + 5)
        assert await h.d.flush(5)
    statuses = [r["json"]["status"] for r in receiver.requests]
    assert statuses == ["firing", "firing", "firing", "resolved"]


async def test_pending_rows_are_sent_after_restart(tmp_path: Path, receiver: Receiver) -> None:
    """Notifications enqueued before a crash are delivered by the next process's dispatcher."""
    first = Harness(tmp_path, receiver, ManualClock())
    await first.d.submit([event()], T0)  # no worker ran: the process "died" here
    first.outbox.close()
    async with Harness(tmp_path, receiver, ManualClock()) as second:
        assert second.d.pending("desk") == 1
        assert await second.d.flush(5)
    assert len(receiver.requests) == 1


async def test_failing_endpoint_leaks_no_secret(tmp_path: Path, receiver: Receiver) -> None:
    """While the endpoint fails and echoes its path, no log line or outbox error carries the token."""
    receiver.responder = lambda i: web.Response(
        status=502 if i < 3 else 200, text=f"bad gateway /hooks/{TOKEN}"
    )
    with structlog.testing.capture_logs() as logs:
        async with Harness(tmp_path, receiver, ManualClock()) as h:
            await h.d.submit([event()], T0)
            assert await h.d.flush(5)
            rows = h.outbox.rows()
    assert any(e["event"] == "notification failed; will retry" for e in logs)
    assert TOKEN not in repr(logs) and TOKEN not in repr(rows)


async def test_unexpected_notifier_error_is_retried_and_redacted(tmp_path: Path) -> None:
    """A notifier bug does not drop the alert; its traceback is logged without the secret."""
    secret = Secret(f"https://hooks.example/{TOKEN}")

    class Flaky:
        name = "desk"
        calls = 0

        async def notify(self, n: Notification) -> None:
            self.calls += 1
            if self.calls == 1:
                raise KeyError(f"oops {secret.reveal()}")

    outbox = Outbox(tmp_path / "o.db")
    flaky = Flaky()
    d = Dispatcher((HOOK,), {"desk": flaky}, outbox, ManualClock(), secrets=[secret])
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(d.run())
        await d.submit([event()], T0)
        assert await d.flush(5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert flaky.calls == 2 and d.failed_total == {("desk", "unexpected_error"): 1}
    assert TOKEN not in repr(logs) and TOKEN not in repr(outbox.rows())


async def test_bad_url_gives_up_and_the_queue_behind_it_moves_on(tmp_path: Path, receiver: Receiver) -> None:
    """A receiver URL with a non-numeric port fails each of its notifications once, permanently.

    Before, `redact_url` raised inside the transport, the pipeline retried the `unexpected_error`
    for good and every notification queued behind the head waited forever.
    """
    bad = ReceiverConfig(name="broken", type="webhook", url_env="BROKEN_URL")
    bad_url = Secret(f"https://hooks.example:8o80/hooks/{TOKEN}")
    good_url = Secret(receiver.url())
    receivers = (bad, HOOK)
    notifiers = build_notifiers(receivers, {"broken": bad_url, "desk": good_url}, clock=ManualClock())
    outbox = Outbox(tmp_path / "o.db")
    d = Dispatcher(receivers, notifiers, outbox, ManualClock(), secrets=[bad_url, good_url])
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(d.run())
        await d.submit([event(symbol="BTCUSDT")], T0)
        await d.submit([event(symbol="ETHUSDT", event_ns=T0 + 1)], T0 + 1)
        assert await d.flush(5)  # nothing left pending: no endless retry
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await d.close()
    broken = [r[2] for r in outbox.rows() if r[1] == "broken"]
    assert broken == ["failed", "failed"]
    assert d.given_up_total["broken"] == 2 and d.failed_total == {("broken", "invalid_url"): 2}
    assert d.sent_total["desk"] == 2 and len(receiver.requests) == 2
    assert sum(e["event"] == "notification failed permanently; giving up" for e in logs) == 2
    assert TOKEN not in repr(logs) and TOKEN not in repr(outbox.rows())


def test_notify_reasons_follow_alertmanager() -> None:
    """first → repeat → new_alerts (escalation) → new_resolved, per receiver and group."""
    d = Dispatcher((HOOK,), {"desk": _Null()}, Outbox(":memory:"), ManualClock())
    reasons = [
        d.build([event(severity=Severity.WARNING)], T0)[0].reason,
        d.build([event(severity=Severity.WARNING, event_ns=T0 + 1)], T0)[0].reason,
        d.build([event(severity=Severity.CRITICAL, event_ns=T0 + 2)], T0)[0].reason,
        d.build([event(state=AlertState.RESOLVED, event_ns=T0 + 3)], T0)[0].reason,
    ]
    assert reasons == [
        NotifyReason.FIRST,
        NotifyReason.REPEAT,
        NotifyReason.NEW_ALERTS,
        NotifyReason.NEW_RESOLVED,
    ]


def test_events_of_one_tick_are_grouped_by_alertname() -> None:
    """Ten positions breaching in the same tick make one notification, not ten."""
    d = Dispatcher((HOOK,), {"desk": _Null()}, Outbox(":memory:"), ManualClock())
    notes = d.build([event(symbol=f"S{i}USDT") for i in range(10)], T0)
    assert len(notes) == 1 and len(notes[0].alerts) == 10


class _Null:
    name = "null"

    async def notify(self, n: Notification) -> None:
        raise RetryableDeliveryError("unused")
