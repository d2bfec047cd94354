"""Holdings pushed over a real Mosquitto broker: retained state at start, bad messages refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt
import msgspec
import pytest

from monitor.clock import LiveClock
from monitor.collectors.mqtt_holdings import MqttHoldingsCollector
from monitor.config import MqttConfig, mqtt_tls_context
from monitor.records import FeedState, FeedStatus, Holding, Record
from monitor.store.state import StateStore
from tests.support.servers import mosquitto
from tests.support.tls import make_pki

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


async def test_an_empty_message_cannot_remove_a_declared_holding(tmp_path: Path) -> None:
    """The issue's case on a real broker: an empty retained payload on holdings/custody.

    config.toml declares custody (50 BTC); the message is refused on /rejected, counted as
    `config_holding`, and the store still holds 50 BTC. A pushed holding of its own name is added,
    and an empty message clears that one (and only that one).
    """
    store = StateStore()
    store.put(
        Holding(venue="config", ts_event_ns=1, ts_recv_ns=1, name="custody", **{**GOOD, "quantity": 50.0})
    )
    with mosquitto(tmp_path) as (port, _proc):
        col = MqttHoldingsCollector(
            cfg=MqttConfig(enabled=True, port=port, client_id="perpmon-test3"),
            credentials=None,
            prices={("binance", "BTCUSDT")},
            sink=store,
            clock=LiveClock(),
            declared=lambda: {"custody"},
        )
        task = asyncio.create_task(col.run())
        try:
            await until(lambda: col.stats.connected.get("mqtt") is True)
            async with aiomqtt.Client("127.0.0.1", port) as pub:
                await pub.subscribe("perpmon/holdings/+/rejected", qos=1)
                await pub.publish("perpmon/holdings/custody", b"", qos=1, retain=True)
                async with asyncio.timeout(10):
                    msg = await anext(aiter(pub.messages))
                assert str(msg.topic) == "perpmon/holdings/custody/rejected"
                assert json.loads(bytes(msg.payload))["reason"] == "config_holding"  # type: ignore[arg-type]
                await pub.publish("perpmon/holdings/cold", json.dumps({**GOOD, "quantity": 7.5}), qos=1)
                await until(lambda: "cold" in store.snapshot(2).holdings)
                await pub.publish("perpmon/holdings/cold", b"", qos=1, retain=True)
                await until(lambda: "cold" not in store.snapshot(3).holdings)
            assert col.stats.dropped == {"config_holding": 1}
            custody = store.snapshot(4).holdings["custody"]
            assert (custody.venue, custody.quantity) == ("config", 50.0)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_tls_with_a_client_certificate(tmp_path: Path) -> None:
    """Against a broker that requires a client certificate signed by a throwaway CA: ours gets in.

    Without the certificate the same broker refuses the connection, which the collector reports
    as its holdings feed down rather than crashing.
    """
    pki = make_pki(tmp_path)
    listener = (
        f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\nrequire_certificate true\n"
        "user root\n"  # started as root, mosquitto would become `mosquitto` and not read the private tmp dir
    )
    cfg = MqttConfig(
        enabled=True,
        client_id="perpmon-tls",
        tls=True,
        ca_file=str(pki.ca),
        cert_file=str(pki.client_cert),
        key_file=str(pki.client_key),
    )
    with mosquitto(tmp_path, listener=listener) as (port, _proc):
        cfg = msgspec.structs.replace(cfg, port=port)
        async with aiomqtt.Client("127.0.0.1", port, tls_context=mqtt_tls_context(cfg)) as pub:
            await pub.publish("perpmon/holdings/cold", json.dumps(GOOD), qos=1, retain=True)
        sink = ListSink()
        col = MqttHoldingsCollector(
            cfg=cfg, credentials=None, prices={("binance", "BTCUSDT")}, sink=sink, clock=LiveClock()
        )
        no_cert = MqttHoldingsCollector(
            cfg=msgspec.structs.replace(cfg, client_id="perpmon-nocert", cert_file=None, key_file=None),
            credentials=None,
            prices={("binance", "BTCUSDT")},
            sink=(refused := ListSink()),
            clock=LiveClock(),
        )
        tasks = [asyncio.create_task(col.run()), asyncio.create_task(no_cert.run())]
        try:
            await until(lambda: [h.name for h in sink.holdings()] == ["cold"])
            await until(
                lambda: any(isinstance(r, FeedStatus) and r.state is FeedState.DOWN for r in refused.records)
            )
            assert no_cert.stats.connected.get("mqtt") is not True and refused.holdings() == []
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
