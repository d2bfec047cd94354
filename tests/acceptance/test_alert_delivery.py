"""End to end on one clock: figures → engine → dispatcher → outbox → webhook (Alertmanager's TestRetry)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from monitor.clock import NS_PER_S, ManualClock
from monitor.config import ReceiverConfig
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.records import Figure, Figures
from monitor.rules import RuleEngine
from monitor.secret import Secret
from tests.acceptance.alert_timeline import KEY
from tests.acceptance.test_alert_timeline import margin_rule
from tests.unit.notify.notify_helpers import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def value_at(t: float) -> float:
    return 0.5 if t < 5 else 0.83 if t < 35 else 0.6


async def test_retry_then_repeat_then_resolve_arrive_in_order(tmp_path: Path, receiver: Receiver) -> None:
    """A receiver failing its first two requests still gets firing, repeat and resolved, in order."""
    clock = ManualClock()
    seen: list[tuple[float, str]] = []
    t0 = clock.now_ns()

    def respond(i: int) -> web.Response:
        if i < 2:
            return web.Response(status=500)
        seen.append(((clock.now_ns() - t0) / NS_PER_S, receiver.requests[-1]["json"]["status"]))
        return web.Response(status=200)

    receiver.responder = respond
    cfg = ReceiverConfig(name="desk", type="webhook", url_env="DESK_URL")
    url = Secret(receiver.url())
    d = Dispatcher(
        (cfg,), build_notifiers((cfg,), {"desk": url}, clock=clock), Outbox(tmp_path / "o.db"), clock
    )
    engine = RuleEngine((margin_rule(for_s=5, repeat_s=20),))
    task = asyncio.create_task(d.run())
    while (t := (clock.now_ns() - t0) / NS_PER_S) <= 50:
        now = clock.now_ns()
        fig = Figure(value=value_at(t), unit="ratio", ts_ns=now)
        await d.submit(engine.step(Figures(taken_at_ns=now, items={KEY: fig}), now), now)
        assert await d.flush(5)
        clock.advance(1.0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await d.close()
    assert [s for _, s in seen] == ["firing", "firing", "resolved"]
    (t_fire, _), (t_repeat, _), (t_resolved, _) = seen
    assert 10 <= t_fire <= 13  # fired at 10 (5 s pending from t=5), delivered after two backoffs
    assert t_repeat - 10 >= 20 and 35 <= t_resolved <= 40
    assert d.failed_total == {("desk", "http_500"): 2} and d.pending() == 0
