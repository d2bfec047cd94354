"""Receiver faults: down for a while then back, down for an hour, and refusing for good."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from aiohttp import web

from monitor.clock import NS_PER_S, LiveClock
from monitor.config import ReceiverConfig
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.records import AlertState, Figure, Figures, Severity
from monitor.rules import RuleEngine
from monitor.secret import Secret
from tests.acceptance.alert_timeline import KEY
from tests.acceptance.test_alert_timeline import margin_rule
from tests.unit.notify.notify_helpers import T0, Receiver, event


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def dispatcher(tmp_path: Path, receiver: Receiver, **cfg: object) -> Dispatcher:
    rc = ReceiverConfig(name="desk", type="webhook", url_env="U", timeout_s=2.0, **cfg)  # type: ignore[arg-type]
    clock = LiveClock()
    notifiers = build_notifiers((rc,), {"desk": Secret(receiver.url())}, clock=clock)
    return Dispatcher(
        (rc,), notifiers, Outbox(tmp_path / "o.db"), clock, backoff_initial_s=0.01, backoff_max_s=0.05
    )


async def until(cond: object, limit_s: float = 10.0) -> None:
    for _ in range(int(limit_s / 0.01)):
        if callable(cond) and cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_receiver_down_then_back_gets_everything_in_order_per_group(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Refused for a while: nothing is lost and each group's firing → critical → resolved keeps its order."""
    port = int(receiver.base.rsplit(":", 1)[1])
    d = dispatcher(tmp_path, receiver, group_by=("symbol",))
    await receiver.stop()
    worker = asyncio.create_task(d.run())
    try:
        t = T0
        for sev, state in ((Severity.WARNING, AlertState.FIRING), (Severity.CRITICAL, AlertState.FIRING)):
            for sym in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
                t += 1
                await d.submit([event(state=state, severity=sev, symbol=sym, event_ns=t)], t)
        for sym in ("ETHUSDT", "BTCUSDT", "SOLUSDT"):
            t += 1
            await d.submit(
                [event(state=AlertState.RESOLVED, severity=Severity.CRITICAL, symbol=sym, event_ns=t)], t
            )
        await until(lambda: sum(d.failed_total.values()) >= 3)
        assert d.pending() == 9
        await receiver.start(port)
        assert await d.flush(10)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await d.close()
    by_symbol: dict[str, list[tuple[str, str]]] = {}
    for r in receiver.requests:
        [a] = r["json"]["alerts"]
        by_symbol.setdefault(a["labels"]["symbol"], []).append((a["status"], a["labels"]["severity"]))
    want = [("firing", "warning"), ("firing", "critical"), ("resolved", "critical")]
    assert by_symbol == {"BTCUSDT": want, "ETHUSDT": want, "SOLUSDT": want}
    assert {reason for _, reason in d.failed_total} == {"connection_error"}
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 9


async def test_an_hour_down_delivers_each_state_change_not_every_repeat(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Repeats every minute for an hour of 503s: the receiver gets the changes and one repeat per severity."""
    up = asyncio.Event()
    receiver.responder = lambda _n: web.Response(status=200 if up.is_set() else 503)
    d = dispatcher(tmp_path, receiver)
    engine = RuleEngine((margin_rule(for_s=0, repeat_s=60),))
    worker = asyncio.create_task(d.run())
    try:
        for second in range(0, 3601, 5):  # engine time: one tick per 5 s over an hour
            now = T0 + second * NS_PER_S
            value = 0.85 if second < 1800 else 0.92 if second < 3000 else 0.5
            figs = Figures(taken_at_ns=now, items={KEY: Figure(value=value, unit="ratio", ts_ns=now)})
            await d.submit(engine.step(figs, now), now)
        await until(lambda: d.superseded_total["desk"] > 40)
        up.set()
        assert await d.flush(10)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await d.close()
    kinds = [(a["status"], a["labels"]["severity"]) for r in receiver.requests for a in r["json"]["alerts"]]
    changes = [kinds[0], *[k for prev, k in itertools.pairwise(kinds) if k != prev]]
    assert changes == [("firing", "warning"), ("firing", "critical"), ("resolved", "critical")]
    distinct_deliveries = len({r["headers"]["Idempotency-Key"] for r in receiver.requests})
    assert distinct_deliveries == 4, "first, the last warning repeat, the escalation, the resolution"
    # 29 warning repeats (60 … 1740 s) all but the last; 19 critical ones (1860 … 2940 s), all
    assert d.superseded_total["desk"] == 28 + 19 and d.pending() == 0


async def test_a_refusing_receiver_is_reported_once_and_not_retried(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A 422 is logged as an error with its reason, counted, kept as failed, and never tried again."""
    receiver.responder = lambda _n: web.Response(status=422, text="unprocessable")
    d = dispatcher(tmp_path, receiver)
    worker = asyncio.create_task(d.run())
    with structlog.testing.capture_logs() as logs:
        await d.submit([event()], T0)
        assert await d.flush(5)
        await asyncio.sleep(0.2)  # several backoff periods: nothing more may happen
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    await d.close()
    [err] = [e for e in logs if e["log_level"] == "error"]
    assert (err["event"], err["reason"], err["receiver"]) == (
        "notification failed permanently; giving up",
        "http_422",
        "desk",
    )
    assert len(receiver.requests) == 1 and d.given_up_total == {"desk": 1}
    assert d.failed_total == {("desk", "http_422"): 1}
