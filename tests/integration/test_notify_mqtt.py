"""The MQTT notifier against a real Mosquitto: topics, QoS 1, retained state, a broker killed mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from monitor.clock import LiveClock
from monitor.config import ReceiverConfig
from monitor.errors import PermanentDeliveryError
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.notify.mqtt import MqttNotifier
from monitor.records import AlertState
from monitor.secret import Secret
from tests.support.servers import free_port, mosquitto
from tests.unit.notify.notify_helpers import T0, event, notification

pytestmark = pytest.mark.integration

Seen = list[tuple[str, dict[str, Any] | None, bool, int]]  # topic, payload (None: empty), retain, qos


@contextlib.asynccontextmanager
async def watch(port: int, topic: str = "perpmon/#") -> AsyncIterator[Seen]:
    """Subscribe (QoS 1) and record every message until the block ends or the broker goes away."""
    seen: Seen = []
    ready = asyncio.Event()

    async def run() -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", port, identifier=f"watch-{id(seen)}") as c:
                await c.subscribe(topic, qos=1)
                ready.set()
                async for m in c.messages:
                    raw = bytes(m.payload) if isinstance(m.payload, bytes | bytearray) else b""
                    seen.append((str(m.topic), json.loads(raw) if raw else None, m.retain, m.qos))

    task = asyncio.create_task(run())
    await asyncio.wait_for(ready.wait(), 5)
    try:
        yield seen
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(cond: Callable[[], object], limit_s: float = 15.0, why: Callable[[], object] = str) -> None:
    for _ in range(int(limit_s / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met in time: {why()}")


async def test_event_topic_and_retained_state_cleared_on_resolve(tmp_path: Path) -> None:
    """Firing: an event at QoS 1 plus retained state; resolved: an event and the retained state deleted."""
    with mosquitto(tmp_path) as (port, _proc):
        notifier = MqttNotifier("plant", host="127.0.0.1", port=port, clock=LiveClock())
        firing = notification("plant", event())
        async with watch(port) as seen:
            await notifier.notify(firing)
            await until(lambda: len(seen) == 2)
        (ev_topic, ev, ev_retain, ev_qos), (st_topic, st, _, st_qos) = seen
        fp = event().fingerprint
        assert (ev_topic, st_topic) == (
            f"perpmon/alerts/MarginRatioHigh/{fp}",
            f"perpmon/state/MarginRatioHigh/{fp}",
        )
        assert ev is not None and st == ev and (ev_retain, ev_qos, st_qos) == (False, 1, 1)
        assert (ev["status"], ev["labels"]["symbol"], ev["receiver"], ev["reason"]) == (
            "firing",
            "BTCUSDT",
            "plant",
            "first",
        )
        async with watch(port) as late:  # a late subscriber gets the firing state, retained
            await until(lambda: len(late) == 1)
        assert late[0][1] == st and late[0][2] is True

        await notifier.notify(notification("plant", event(state=AlertState.RESOLVED, event_ns=T0 + 5)))
        async with watch(port) as after:
            await asyncio.sleep(0.3)
        assert after == [], "the resolve deleted the retained state"
        await notifier.close()


async def test_broker_killed_and_restarted_alert_still_arrives(tmp_path: Path) -> None:
    """Kill -9 the broker, raise an alert, restart the broker on the same port: the alert is delivered."""
    gate = asyncio.Event()
    gate.set()

    class GatedClock(LiveClock):
        async def sleep(self, seconds: float) -> None:  # retries wait here while the test restarts the broker
            await asyncio.sleep(min(seconds, 0.05))
            await gate.wait()

    clock = GatedClock()
    port = free_port()
    cfg = ReceiverConfig(name="plant", type="mqtt", host="127.0.0.1", port=port, timeout_s=3.0)
    d = Dispatcher(
        (cfg,),
        build_notifiers((cfg,), {}, clock=clock),
        Outbox(tmp_path / "o.db"),
        clock,
        backoff_initial_s=0.05,
    )
    worker = asyncio.create_task(d.run())
    btc, eth = event(symbol="BTCUSDT"), event(symbol="ETHUSDT", event_ns=T0 + 1)
    try:
        with mosquitto(tmp_path, port=port) as (_, proc):
            async with watch(port) as seen:
                await d.submit([btc], T0)
                await until(lambda: len(seen) == 2)
                gate.clear()
                proc.kill()
                proc.wait()
                await d.submit([eth], T0 + 1)
                await until(lambda: d.failed_total)
        assert d.pending() == 1
        with mosquitto(tmp_path, port=port):
            async with watch(port) as seen:
                gate.set()
                await until(lambda: len(seen) >= 2, why=lambda: (seen, d.failed_total, d.pending()))
                assert await d.flush(5)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await d.close()
    topics = {t for t, *_ in seen}
    assert topics == {
        f"perpmon/alerts/MarginRatioHigh/{eth.fingerprint}",
        f"perpmon/state/MarginRatioHigh/{eth.fingerprint}",
    }
    assert {p["eventId"] for _, p, *_ in seen if p} == {seen[0][1]["eventId"]}  # type: ignore[index]
    assert all(reason.startswith(("connection_error", "timeout")) for _, reason in d.failed_total)


async def test_refused_login_is_permanent(tmp_path: Path) -> None:
    """A broker that refuses our login will not change its mind: permanent, and no password in the error."""
    with mosquitto(tmp_path, allow_anonymous=False) as (port, _proc):
        creds = (Secret("desk-user"), Secret("pa55-w0rd-s3cr3t"))
        notifier = MqttNotifier("plant", host="127.0.0.1", port=port, credentials=creds, clock=LiveClock())
        with pytest.raises(PermanentDeliveryError) as info:
            await notifier.notify(notification("plant"))
        await notifier.close()
    assert info.value.reason.startswith("mqtt_refused") and "pa55-w0rd-s3cr3t" not in repr(info.value)
