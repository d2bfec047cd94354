"""Holdings pushed over a real Mosquitto broker: retained state at start, bad messages refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt
import pytest

from monitor.clock import LiveClock
from monitor.collectors.mqtt_holdings import MqttHoldingsCollector
from monitor.config import MqttConfig
from monitor.records import Holding, Record
from tests.support.servers import mosquitto

pytestmark = pytest.mark.integration

GOOD = {"asset": "BTC", "quantity": 50.0, "price_venue": "binance", "price_symbol": "BTCUSDT"}


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def put(self, record: Record) -> None:
        self.records.append(record)

    def holdings(self) -> list[Holding]:
        return [r for r in self.records if isinstance(r, Holding)]


async def until(cond, limit_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(limit_s / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_retained_holding_arrives_and_bad_one_is_rejected(tmp_path: Path) -> None:
    """A retained message is the state at start; a bad one is answered on /rejected and not applied."""
    with mosquitto(tmp_path) as (port, _proc):
        async with aiomqtt.Client("127.0.0.1", port) as pub:
            await pub.publish("perpmon/holdings/custody", json.dumps(GOOD), qos=1, retain=True)
        sink = ListSink()
        col = MqttHoldingsCollector(
            cfg=MqttConfig(enabled=True, port=port, client_id="perpmon-test"),
            credentials=None,
            prices={("binance", "BTCUSDT")},
            sink=sink,
            clock=LiveClock(),
        )
        task = asyncio.create_task(col.run())
        try:
            await until(lambda: len(sink.holdings()) == 1)
            h = sink.holdings()[0]
            assert (h.name, h.asset, h.quantity, h.price_symbol) == ("custody", "BTC", 50.0, "BTCUSDT")

            async with aiomqtt.Client("127.0.0.1", port) as watcher:
                await watcher.subscribe("perpmon/holdings/+/rejected", qos=1)
                for bad in (
                    {**GOOD, "quantity": -1.0},
                    {**GOOD, "price_symbol": "DOGEUSDT"},
                    {**GOOD, "extra": 1},
                ):
                    await watcher.publish("perpmon/holdings/custody", json.dumps(bad), qos=1)
                await watcher.publish("perpmon/holdings/custody", b"{nope", qos=1)
                reasons = []
                async with asyncio.timeout(10):
                    async for msg in watcher.messages:
                        reasons.append(json.loads(bytes(msg.payload))["reason"])  # type: ignore[arg-type]
                        if len(reasons) == 4:
                            break
            assert reasons == ["out_of_range", "unknown_price", "schema", "malformed_json"]
            assert len(sink.holdings()) == 1  # nothing bad was applied
            assert col.stats.dropped == {
                "out_of_range": 1,
                "unknown_price": 1,
                "schema": 1,
                "malformed_json": 1,
            }
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_broker_restart_reconnects_and_resubscribes(tmp_path: Path) -> None:
    """When the broker dies and comes back, the collector reconnects and sees new holdings."""
    with mosquitto(tmp_path) as (port, proc):
        sink = ListSink()
        col = MqttHoldingsCollector(
            cfg=MqttConfig(enabled=True, port=port, client_id="perpmon-test2"),
            credentials=None,
            prices={("binance", "BTCUSDT")},
            sink=sink,
            clock=LiveClock(),
        )
        task = asyncio.create_task(col.run())
        try:
            await until(lambda: col.stats.connected.get("mqtt") is True)
            proc.terminate()
            proc.wait(5)
            await until(lambda: col.stats.connected.get("mqtt") is False)
            with mosquitto(tmp_path, port=port) as (_p, _proc2):
                await until(lambda: col.stats.connected.get("mqtt") is True, 20)
                async with aiomqtt.Client("127.0.0.1", port) as pub:
                    await pub.publish(
                        "perpmon/holdings/cold", json.dumps({**GOOD, "quantity": 7.5}), qos=1, retain=True
                    )
                await until(lambda: any(h.name == "cold" for h in sink.holdings()))
            assert col.stats.reconnects["mqtt"] >= 1
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
